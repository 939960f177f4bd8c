"""Model packages as OCI artifacts: build, store locally, push, pull, tag, inspect.

Only ``_registry`` talks to a registry; everything else passes plain data.
"""

from typing import TYPE_CHECKING

from mlpipex.oci._blobs import Descriptor, canonical_json
from mlpipex.oci._layout import DEFAULT_LAYOUT, Layout
from mlpipex.oci._modelcar import BaseImage, modelcar_digest_of
from mlpipex.oci._record import (
    DeploymentRecord,
    deployment_record_manifest,
    deployment_records,
    record_deployment,
)
from mlpipex.oci._reference import Reference, is_loopback, parse_reference
from mlpipex.oci._storage_uri import STORAGE_MODES, StorageMode, storage_uri
from mlpipex.oci._transfer import (
    Inspection,
    Pushed,
    fetch_base,
    inspect_local,
    inspect_remote,
    pull,
    push,
    resolve_storage_uri,
    tag,
)

# Loaded on first use: the registry client needs the `oci` extra (oras, requests),
# and the package builder the config and stats modules; `mlpipex pull` needs neither.
_LAZY = {
    "Credentials": "_registry", "RegistryClient": "_registry", "credentials_for": "_registry",
    "Built": "_package", "build_package": "_package", "write_layer": "_package",
    "model_config_blob": "_package", "reference_profile": "_package", "serving_environment": "_package",
}  # fmt: skip

if TYPE_CHECKING:
    from mlpipex.oci._package import (
        Built,
        build_package,
        model_config_blob,
        reference_profile,
        serving_environment,
        write_layer,
    )
    from mlpipex.oci._registry import Credentials, RegistryClient, credentials_for


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"mlpipex.oci.{_LAZY[name]}"), name)
    raise AttributeError(name)

__all__ = [
    "DEFAULT_LAYOUT",
    "STORAGE_MODES",
    "BaseImage",
    "Built",
    "Credentials",
    "DeploymentRecord",
    "Descriptor",
    "Inspection",
    "Layout",
    "Pushed",
    "Reference",
    "RegistryClient",
    "StorageMode",
    "build_package",
    "canonical_json",
    "credentials_for",
    "deployment_record_manifest",
    "deployment_records",
    "fetch_base",
    "inspect_local",
    "inspect_remote",
    "is_loopback",
    "model_config_blob",
    "modelcar_digest_of",
    "parse_reference",
    "pull",
    "push",
    "record_deployment",
    "reference_profile",
    "resolve_storage_uri",
    "serving_environment",
    "storage_uri",
    "tag",
    "write_layer",
]
