"""The storageUri KServe loads a package from (pure).

- ``modelcar`` (KServe v0.20.0's only OCI mode for a bare ``oci://``; the default):
  ``oci://REGISTRY/REPOSITORY@sha256:<modelcar image digest>`` — the image runs as a
  sidecar and KServe's containers run ``sh -c`` in it.
- ``fetch`` (KServe master, ``oci+fetch://``): the storage initializer pulls the
  *artifact*'s layers and extracts ``models/``:
  ``oci+fetch://REGISTRY/REPOSITORY@sha256:<artifact digest>``.

Always by digest: a tag can move between the gate and the rollout, a digest cannot.
"""

from __future__ import annotations

from typing import Literal

from mlpipex.errors import InputError
from mlpipex.oci._reference import Reference

__all__ = ["STORAGE_MODES", "StorageMode", "storage_uri"]

StorageMode = Literal["modelcar", "fetch"]
STORAGE_MODES: tuple[StorageMode, ...] = ("modelcar", "fetch")


def storage_uri(reference: Reference, *, artifact_digest: str, modelcar_digest: str | None, mode: StorageMode) -> str:
    if mode == "fetch":
        return f"oci+fetch://{reference.name}@{artifact_digest}"
    if mode != "modelcar":
        raise InputError(f"deploy.storage `{mode}` is not one of {', '.join(STORAGE_MODES)}")
    if not modelcar_digest:
        raise InputError(
            f"{reference.name}@{artifact_digest} has no modelcar image, which deploy.storage `modelcar` needs "
            "(KServe runs a bare oci:// image as a sidecar with `sh -c`)",
            fix="set package.modelcar.base to a base image with a shell, pinned by digest, then package and push "
                "again; or set deploy.storage: fetch on a KServe with oci+fetch:// (master, not v0.20.0)",
        )
    return f"oci://{reference.name}@{modelcar_digest}"
