"""A modelcar base image from Debian's busybox-static, pushed to the test registry; images unpacked into a rootfs.

The base is what a user pins in ``package.modelcar.base``: a small image whose only
content is a shell. ``scripts/test.sh`` downloads the .deb into ``.cache-debs/``.
Unpacking follows the OCI image layer spec: layers in order, whiteouts
(``.wh.NAME`` deletes NAME, ``.wh..wh..opq`` empties its directory).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from mlpipex.oci import Descriptor, RegistryClient, canonical_json, parse_reference

ROOT = Path(__file__).resolve().parents[2]
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def busybox_binary(work: Path) -> Path:
    debs = sorted((ROOT / ".cache-debs").glob("busybox-static_*.deb"))
    if not debs or not shutil.which("dpkg-deb"):
        pytest.skip("Debian's busybox-static .deb is missing (`make test` downloads it into .cache-debs/)")
    (work / "deb").mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(work / "deb")], check=True)
    return work / "deb" / "bin" / "busybox"


def _tar_gz(add: list[tarfile.TarInfo], data: dict[str, bytes]) -> tuple[bytes, str]:
    """A reproducible tar+gzip layer and its diff_id."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in add:
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data[info.name]) if info.name in data else None)
    raw = plain.getvalue()
    return gzip.compress(raw, mtime=0), Descriptor.of(LAYER, raw).digest


def busybox_layer(busybox: Path) -> tuple[bytes, str]:
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    entries = []
    for name in ("bin", "tmp"):
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        entries.append(info)
    binary = tarfile.TarInfo("bin/busybox")
    binary.mode, binary.size = 0o755, busybox.stat().st_size
    entries.append(binary)
    for applet in sorted(set(applets) - {"busybox"}):
        link = tarfile.TarInfo(f"bin/{applet}")
        link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
        entries.append(link)
    return _tar_gz(entries, {"bin/busybox": busybox.read_bytes()})


def empty_models_layer() -> tuple[bytes, str]:
    info = tarfile.TarInfo("models")
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return _tar_gz([info], {})


def push_image(client: RegistryClient, repository: str, tag: str, layers: list[tuple[bytes, str]],
               config_extra: dict | None = None) -> str:  # fmt: skip
    """Push an image of ``layers`` ((gzip bytes, diff_id)); returns REGISTRY/REPOSITORY@sha256:…."""
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
              "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], **(config_extra or {})}}  # fmt: skip
    config_bytes = canonical_json(config)
    config_descriptor = Descriptor.of(IMAGE_CONFIG, config_bytes)
    client.upload_blob(repository, config_descriptor, config_bytes)
    descriptors = []
    for blob, _ in layers:
        descriptor = Descriptor.of(LAYER, blob)
        client.upload_blob(repository, descriptor, blob)
        descriptors.append(descriptor.to_dict())
    manifest = canonical_json({"schemaVersion": 2, "mediaType": MANIFEST, "config": config_descriptor.to_dict(),
                               "layers": descriptors})  # fmt: skip
    client.put_manifest(repository, tag, manifest, MANIFEST)
    return f"{client.registry}/{repository}@{Descriptor.of(MANIFEST, manifest).digest}"


def unpack_image(client: RegistryClient, reference: str, rootfs: Path) -> dict:
    """Every layer of ``reference``, in order, into ``rootfs``, as a container runtime does; returns the manifest."""
    ref = parse_reference(reference)
    data, _, _ = client.get_manifest(ref)
    manifest = json.loads(data)
    rootfs.mkdir(parents=True, exist_ok=True)
    for number, layer in enumerate(manifest["layers"]):
        blob = rootfs.parent / f"layer-{number}"
        client.download_blob(ref.repository, Descriptor.from_dict(layer), blob)
        with tarfile.open(blob) as tar:
            for member in tar:
                path = rootfs / member.name
                parent, base = path.parent, path.name
                if base == ".wh..wh..opq":
                    for child in parent.iterdir():
                        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
                    continue
                if base.startswith(".wh."):
                    victim = parent / base[len(".wh."):]
                    if victim.is_dir() and not victim.is_symlink():
                        shutil.rmtree(victim)
                    elif victim.exists() or victim.is_symlink():
                        victim.unlink()
                    continue
                if path.is_symlink() or (path.exists() and not path.is_dir()):
                    path.unlink()  # a later layer replaces the file
                tar.extract(member, rootfs, filter="tar")
        blob.unlink()
    return manifest


def can_chroot() -> bool:
    return os.geteuid() == 0 and shutil.which("chroot") is not None


def push_docker_index(client: RegistryClient, repository: str, tag: str, layer: tuple[bytes, str],
                      architectures: list[str]) -> str:  # fmt: skip
    """A multi-platform base as Docker Hub serves many: a Docker manifest list of Docker schema-2 manifests."""
    entries = []
    for arch in architectures:
        config = canonical_json({"architecture": arch, "os": "linux", "config": {"Entrypoint": ["/bin/false"]},
                                 "rootfs": {"type": "layers", "diff_ids": [layer[1]]}})  # fmt: skip
        config_descriptor = Descriptor.of("application/vnd.docker.container.image.v1+json", config)
        client.upload_blob(repository, config_descriptor, config)
        blob = Descriptor.of("application/vnd.docker.image.rootfs.diff.tar.gzip", layer[0])
        client.upload_blob(repository, blob, layer[0])
        manifest = canonical_json({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                   "config": config_descriptor.to_dict(), "layers": [blob.to_dict()]})  # fmt: skip
        digest = Descriptor.of("x", manifest).digest
        client.put_manifest(repository, digest, manifest, "application/vnd.docker.distribution.manifest.v2+json")
        entries.append({"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest,
                        "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}})  # fmt: skip
    index = canonical_json({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                            "manifests": entries})  # fmt: skip
    client.put_manifest(repository, tag, index, "application/vnd.docker.distribution.manifest.list.v2+json")
    return f"{client.registry}/{repository}@{Descriptor.of('x', index).digest}"
