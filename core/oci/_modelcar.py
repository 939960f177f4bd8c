"""The package as a modelcar image: what KServe runs for a bare ``oci://`` storageUri.

KServe (v0.20.0 and master, ``pkg/utils/storage.go``: CreateModelcarInitContainer and
CreateModelcarContainer) runs the image twice, both times as ``sh -c …`` given as
container *args*: an init container checks that ``/models`` exists and is non-empty,
and a sidecar links ``/proc/$$/root/models`` to ``/mnt/models`` and sleeps. So the
image needs a shell (``sh``, ``ls``, ``ln``, ``sleep``, ``mkdir``), no entrypoint that
would swallow those args, and the model under ``/models``.

The image is a base with a shell (``package.modelcar.base``, pinned by digest) plus
the artifact's own model layer: its files already sit under ``models/``, so the
registry stores the model once for both. Everything here is pure; fetching the base
lives in ``_transfer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlpipex.errors import ExternalError
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor

__all__ = ["MODELCAR_SUFFIX", "BaseImage", "image_config", "image_manifest", "modelcar_digest_of", "oci_layer", "pick_platform"]

MODELCAR_SUFFIX = "-modelcar"  # the image's name in the local store and its tag: the version's + this
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Layer media types a modelcar can carry: KServe's oci+fetch reads tar and tar+gzip only.
_LAYER_TYPES = {media.LAYER: media.LAYER, media.LAYER_TAR: media.LAYER_TAR, media.DOCKER_LAYER: media.LAYER}


@dataclass(frozen=True)
class BaseImage:
    """A base image resolved to one platform: what the modelcar image is built on."""

    name: str  # REGISTRY/REPOSITORY, as configured
    digest: str  # the manifest the image is built on (the platform's, under an index)
    config: dict[str, Any]
    config_descriptor: Descriptor
    layers: tuple[Descriptor, ...]  # OCI media types


def pick_platform(index: dict[str, Any], platform: str, where: str) -> str:
    """The digest of ``platform`` (``os/arch[/variant]``) in an image index."""
    wanted = platform.split("/")
    for entry in index.get("manifests") or []:
        p = entry.get("platform") or {}
        have = [p.get("os"), p.get("architecture")] + ([p["variant"]] if len(wanted) > 2 and p.get("variant") else [])
        if have == wanted:
            return str(entry["digest"])
    offered = sorted("/".join(filter(None, [(e.get("platform") or {}).get(k) for k in ("os", "architecture", "variant")]))
                     for e in index.get("manifests") or [])  # fmt: skip
    raise ExternalError(f"{where} has no image for {platform} (it offers: {', '.join(offered) or 'nothing'})",
                        fix="set package.modelcar.platform to one it offers, or pick another base")  # fmt: skip


def oci_layer(layer: dict[str, Any], where: str) -> Descriptor:
    """A base layer as an OCI layer descriptor (Docker's gzip layer is the same bytes)."""
    media_type = layer.get("mediaType", "")
    if media_type not in _LAYER_TYPES:
        raise ExternalError(f"{where} has a {media_type} layer; a modelcar base needs tar or tar+gzip layers",
                            fix="KServe's oci+fetch reads only those: pick a base built with gzip layers")  # fmt: skip
    return Descriptor(_LAYER_TYPES[media_type], layer["digest"], int(layer["size"]))


def image_config(base: dict[str, Any], model_diff_id: str, labels: dict[str, str]) -> dict[str, Any]:
    """The image config: the base's platform and layers, plus the model layer; no entrypoint.

    KServe passes ``sh -c …`` as args, so an entrypoint or cmd of the base would run
    instead of (or be handed) KServe's commands. ``created`` and ``history`` are left
    out: both are optional, and a time would make the digest depend on when it was built.
    """
    env = list((base.get("config") or {}).get("Env") or [DEFAULT_PATH])
    config: dict[str, Any] = {
        "architecture": base["architecture"],
        "os": base["os"],
        "config": {"Env": env, "Labels": dict(sorted(labels.items())), "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [*base["rootfs"]["diff_ids"], model_diff_id]},
    }
    if base.get("variant"):
        config["variant"] = base["variant"]
    return config


def image_manifest(config: Descriptor, base: BaseImage, model_layer: Descriptor,
                   annotations: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    return {
        "schemaVersion": 2,
        "mediaType": media.MANIFEST,
        "config": Descriptor(media.IMAGE_CONFIG, config.digest, config.size).to_dict(),
        "layers": [layer.to_dict() for layer in (*base.layers, model_layer)],
        "annotations": dict(sorted({**annotations, media.BASE_NAME: base.name, media.BASE_DIGEST: base.digest}.items())),
    }


def modelcar_digest_of(manifest: dict[str, Any]) -> str | None:
    """The modelcar image's digest, from the artifact manifest's annotation (None: built without one)."""
    value = (manifest.get("annotations") or {}).get(media.MODELCAR)
    return str(value) if value else None


def layer_descriptors(manifest: dict[str, Any]) -> Sequence[Descriptor]:
    return [Descriptor.from_dict(layer) for layer in manifest.get("layers") or []]
