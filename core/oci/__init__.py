"""Model packages as OCI artifacts: build, store locally, push, pull, tag, inspect.

Only ``_registry`` talks to a registry; everything else passes plain data.
"""

from mlpipex.oci._blobs import Descriptor, canonical_json
from mlpipex.oci._layout import DEFAULT_LAYOUT, Layout
from mlpipex.oci._package import Built, build_package, write_layer
from mlpipex.oci._reference import Reference, is_loopback, parse_reference
from mlpipex.oci._transfer import Inspection, Pushed, inspect_local, inspect_remote, pull, push, tag

_REGISTRY_NAMES = ("Credentials", "RegistryClient", "credentials_for")


def __getattr__(name: str) -> object:
    # The registry client needs the `oci` extra (oras, requests); building a package does not.
    if name in _REGISTRY_NAMES:
        from mlpipex.oci import _registry

        return getattr(_registry, name)
    raise AttributeError(name)

__all__ = [
    "DEFAULT_LAYOUT",
    "Built",
    "Credentials",
    "Descriptor",
    "Inspection",
    "Layout",
    "Pushed",
    "Reference",
    "RegistryClient",
    "build_package",
    "canonical_json",
    "credentials_for",
    "inspect_local",
    "inspect_remote",
    "is_loopback",
    "parse_reference",
    "pull",
    "push",
    "tag",
    "write_layer",
]
