"""Local serving of a package with KServe's model server (the `kserve` extra)."""

from mlpipex.serving.package import ServablePackage, open_package
from mlpipex.serving.validation import RequestError, Validator

__all__ = ["RequestError", "ServablePackage", "Validator", "open_package"]
