"""Push, pull, tag and inspect: package operations over the registry client.

The order of a push is what keeps it safe: every blob first, then the manifest
under its version tag, then the evidence. A push that fails part-way has tagged
nothing, and a retry uploads only what is missing.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.errors import ExternalError, InputError
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, sha256_digest
from mlpipex.oci._layout import Layout
from mlpipex.oci._reference import Reference

if TYPE_CHECKING:
    from mlpipex.oci._registry import RegistryClient

__all__ = ["Inspection", "Pushed", "inspect_local", "inspect_remote", "pull", "push", "tag"]

_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([-+].*)?$")


@dataclass(frozen=True)
class Pushed:
    reference: Reference  # with tag and digest
    uploaded: int
    skipped: int
    evidence: str | None  # how the report was attached, if it was


def push(layout: Layout, ref_name: str, target: Reference, client: RegistryClient, *, force: bool = False) -> Pushed:
    local = layout.resolve(ref_name)
    manifest_bytes = layout.read_bytes(local.digest)
    manifest = json.loads(manifest_bytes)
    tag_name = target.tag or ref_name.rsplit(":", 1)[-1]
    existing = client.resolve(target.with_tag(tag_name))
    if existing and existing != local.digest and not force:
        raise InputError(
            f"{target.with_tag(tag_name)} already exists with different content ({existing[:19]}…); "
            "version tags are immutable",
            fix="bump model.version, or pass --force to overwrite on purpose",
        )
    uploaded = skipped = 0
    for descriptor in [Descriptor.from_dict(manifest["config"]), *map(Descriptor.from_dict, manifest["layers"])]:
        if client.upload_blob(target.repository, descriptor, layout.blob_path(descriptor.digest)):
            uploaded += 1
        else:
            skipped += 1
    client.put_manifest(target.repository, tag_name, manifest_bytes, media.MANIFEST)
    evidence = None
    for referrer in layout.referrers(local.digest):
        evidence = _push_referrer(layout, referrer, target, client, local.digest)
    return Pushed(target.with_tag(tag_name).with_digest(local.digest), uploaded, skipped, evidence)


def _push_referrer(layout: Layout, referrer: Descriptor, target: Reference, client: RegistryClient, subject: str) -> str:
    data = layout.read_bytes(referrer.digest)
    manifest = json.loads(data)
    for blob in [Descriptor.from_dict(manifest["config"]), *map(Descriptor.from_dict, manifest["layers"])]:
        client.upload_blob(target.repository, blob, layout.read_bytes(blob.digest))
    descriptor = Descriptor(media.MANIFEST, referrer.digest, len(data), manifest.get("annotations") or {},
                            manifest.get("artifactType"))  # fmt: skip
    return client.attach(target.repository, subject, data, descriptor)


def pull(client: RegistryClient, ref: Reference, out: Path) -> dict[str, Any]:
    """Fetch the manifest and every blob (digests checked), then unpack the layers into ``out``."""
    data, media_type, digest = client.get_manifest(ref)
    if media_type != media.MANIFEST:
        raise ExternalError(f"{ref} is a {media_type}, not an OCI image manifest",
                            fix="pull a model package pushed by `mlpipex push`")  # fmt: skip
    manifest = json.loads(data)
    blobs = out / ".mlpipex-blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    config = Descriptor.from_dict(manifest["config"])
    client.download_blob(ref.repository, config, blobs / config.digest[7:])
    for layer in map(Descriptor.from_dict, manifest["layers"]):
        path = blobs / layer.digest[7:]
        client.download_blob(ref.repository, layer, path)
        if layer.media_type in (media.LAYER, "application/vnd.oci.image.layer.v1.tar"):
            _extract(path, out)
    (out / "manifest.json").write_bytes(data)
    (out / "config.json").write_bytes((blobs / config.digest[7:]).read_bytes())
    for path in blobs.iterdir():
        path.unlink()
    blobs.rmdir()
    return {"digest": digest, "manifest": manifest}


def _extract(archive: Path, out: Path) -> None:
    with tarfile.open(archive, mode="r:*") as tar:
        for member in tar.getmembers():
            target = (out / member.name).resolve()
            if not target.is_relative_to(out.resolve()) or member.issym() or member.islnk():
                raise ExternalError(f"refusing to unpack `{member.name}`: it points outside the output directory")
        tar.extractall(out, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(out)


def tag(client: RegistryClient, ref: Reference, new_tag: str, *, force: bool = False) -> Reference:
    data, media_type, digest = client.get_manifest(ref)
    target = ref.with_tag(new_tag)
    existing = client.resolve(target)
    if existing and existing != digest and _VERSION_TAG.match(new_tag) and not force:
        raise InputError(f"{target} is a version tag and already points at {existing[:19]}…",
                         fix="version tags are immutable; move a promotion tag such as `production` instead")  # fmt: skip
    client.put_manifest(ref.repository, new_tag, data, media_type)
    return target.with_digest(digest)


@dataclass(frozen=True)
class Inspection:
    reference: str
    digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    referrers: list[dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps({"reference": self.reference, "digest": self.digest, "manifest": self.manifest,
                           "config": self.config, "referrers": self.referrers}, indent=2)  # fmt: skip

    def summary(self) -> str:
        c, m = self.config, self.manifest
        lines = [f"{self.reference}", f"  digest      {self.digest}",
                 f"  model       {c.get('name')}@{c.get('version')} ({c.get('format')}, {c.get('task')})"]  # fmt: skip
        gates = c.get("gates") or {}
        if gates:
            results = ", ".join(f"{k} {v}" for k, v in gates.get("results", {}).items())
            lines.append(f"  gates       {gates.get('verdict')}: {results}")
        if c.get("metrics"):
            lines.append("  metrics     " + ", ".join(f"{k} {v:.4f}" for k, v in c["metrics"].items()
                                                      if isinstance(v, float)))  # fmt: skip
        env = c.get("environment") or {}
        lines.append(f"  environment onnxruntime {env.get('onnxruntime')}, Python {env.get('python')}"
                     + (f", {env['requirements']['file']}" if env.get("requirements") else ""))  # fmt: skip
        profile = c.get("profile") or {}
        if profile:
            lines.append(f"  profile     {len(profile.get('features', {}))} features from "
                         f"{profile.get('rows')} rows ({profile.get('source')})")  # fmt: skip
        for key, value in sorted((m.get("annotations") or {}).items()):
            lines.append(f"  {key.rsplit('.', 1)[-1]:<11} {value}")
        for layer in m.get("layers", []):
            lines.append(f"  layer       {layer['digest'][:19]}… {layer['size']:,} bytes {layer['mediaType']}")
        for r in self.referrers:
            lines.append(f"  evidence    {r.get('artifactType')} {r['digest'][:19]}…")
        if not self.referrers:
            lines.append("  evidence    none attached")
        return "\n".join(lines)


def inspect_remote(client: RegistryClient, ref: Reference) -> Inspection:
    data, _, digest = client.get_manifest(ref)
    manifest = json.loads(data)
    config_descriptor = Descriptor.from_dict(manifest["config"])
    response = client.request("GET", f"/v2/{ref.repository}/blobs/{config_descriptor.digest}", what="config blob")
    if response.status_code != 200:
        raise client.fail(response, "config blob")
    if sha256_digest(response.content) != config_descriptor.digest:
        raise ExternalError(f"{ref}: the config blob does not match its digest",
                            fix="the registry or a proxy altered the data; do not trust it")  # fmt: skip
    return Inspection(str(ref.with_digest(digest)), digest, manifest, json.loads(response.content),
                      client.referrers(ref.repository, digest))  # fmt: skip


def inspect_local(layout: Layout, ref_name: str) -> Inspection:
    descriptor = layout.resolve(ref_name)
    manifest = layout.read_json(descriptor.digest)
    config = layout.read_json(manifest["config"]["digest"])
    referrers = [r.to_dict() for r in layout.referrers(descriptor.digest)]
    return Inspection(f"{layout.root}:{ref_name}", descriptor.digest, manifest, config, referrers)
