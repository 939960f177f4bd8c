"""Where KServe loads each model from: the rollout flow's one decision about storage URIs.

The plans (mlpipex.kserve.rollout) name models by their gated artifact; before any
object is sent (or printed by ``deploy --dry-run``) the flow rewrites each model's
``storageUri`` with a :class:`StorageLocator`. The default, :class:`RegistryLocator`,
follows ``deploy.storage``:

- ``fetch``: ``oci+fetch://REPO@<artifact digest>`` (KServe's storage initializer pulls
  the artifact's layers; KServe master) — no registry is asked;
- ``modelcar``: ``oci://REPO@<modelcar image digest>`` (KServe v0.20.0's bare ``oci://``
  runs the image as a sidecar with ``sh -c``), the image digest read from the artifact's
  manifest through the one registry module (mlpipex.oci), once per artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from mlpipex.errors import ExternalError, InputError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.oci import Reference, RegistryClient

__all__ = ["RegistryLocator", "StorageLocator"]


class StorageLocator(Protocol):
    def uri(self, config: Config, artifact: str) -> str:
        """The storageUri KServe loads ``artifact`` (REPO@sha256:…) from, for ``config``'s deploy.storage."""
        ...


def _registry_client(ref: Reference) -> RegistryClient:
    from mlpipex.oci import RegistryClient, credentials_for

    return RegistryClient(ref.registry, credentials=credentials_for(ref.registry))


class RegistryLocator:
    """``deploy.storage`` as configured; ``client_for`` reaches a registry (tests may hand one in)."""

    def __init__(self, client_for: Callable[[Reference], RegistryClient] = _registry_client) -> None:
        self._client_for = client_for
        self._found: dict[tuple[str, str], str] = {}

    def uri(self, config: Config, artifact: str) -> str:
        from mlpipex.oci import parse_reference, resolve_storage_uri, storage_uri

        mode = config.deploy.storage
        ref = parse_reference(artifact)
        if not ref.digest:
            raise InputError(f"--artifact {artifact} is not pinned by digest",
                             fix="deploy REF@sha256:… as printed by `mlpipex push`; tags can move, digests cannot")  # fmt: skip
        if mode == "fetch":
            return storage_uri(ref, artifact_digest=ref.digest, modelcar_digest=None, mode="fetch")
        key = (mode, f"{ref.name}@{ref.digest}")
        if key not in self._found:
            try:
                self._found[key] = resolve_storage_uri(self._client_for(ref), ref, mode)
            except ExternalError as exc:
                # Say why deploy talks to the registry at all: the modelcar image is named in the artifact.
                raise ExternalError(
                    f"deploy.storage `modelcar` reads the modelcar image of {ref.name}@{ref.digest} from registry "
                    f"{ref.registry}: {exc.message}",
                    fix=(exc.fix + "; " if exc.fix else "") + "or, on a KServe with oci+fetch://, set "
                    "deploy.storage: fetch (it needs no registry read at deploy time)",
                ) from None
        return self._found[key]
