"""Push, pull, tag and inspect: package operations over the registry client.

The order of a push is what keeps it safe: every blob first, then the manifest
under its version tag, then the evidence. A push that fails part-way has tagged
nothing, and a retry uploads only what is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlpipex.errors import ExternalError, InputError
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, sha256_digest
from mlpipex.oci._layout import Layout
from mlpipex.oci._modelcar import (
    MODELCAR_SUFFIX,
    BaseImage,
    layer_descriptors,
    modelcar_digest_of,
    oci_layer,
    pick_platform,
)
from mlpipex.oci._reference import Reference
from mlpipex.oci._storage_uri import StorageMode, storage_uri

if TYPE_CHECKING:
    from mlpipex.oci._registry import RegistryClient

__all__ = ["Inspection", "Pushed", "fetch_base", "inspect_local", "inspect_remote", "pull", "push", "resolve_storage_uri",
           "tag"]

_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([-+].*)?$")


@dataclass(frozen=True)
class Pushed:
    reference: Reference  # with tag and digest
    uploaded: int
    skipped: int
    evidence: str | None  # how the report was attached, if it was
    modelcar: Reference | None = None  # the modelcar image (tag VERSION-modelcar, by digest), if built


def push(layout: Layout, ref_name: str, target: Reference, client: RegistryClient, *, force: bool = False) -> Pushed:
    """Blobs of the artifact and its modelcar image, the image, the artifact under its tag, the evidence."""
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
    image_digest = modelcar_digest_of(manifest)
    image_bytes = layout.read_bytes(image_digest) if image_digest else None
    image = json.loads(image_bytes) if image_bytes else {}
    uploaded = skipped = 0
    blobs = [Descriptor.from_dict(manifest["config"]), *layer_descriptors(manifest)]
    if image:
        blobs += [Descriptor.from_dict(image["config"]), *layer_descriptors(image)]
    for descriptor in {d.digest: d for d in blobs}.values():
        if client.upload_blob(target.repository, descriptor, layout.blob_path(descriptor.digest)):
            uploaded += 1
        else:
            skipped += 1
    modelcar = None
    if image_bytes and image_digest:
        # Tagged, so that no registry's garbage collection takes it for an orphan; it is
        # derived from the artifact, so the artifact's immutability check covers it.
        client.put_manifest(target.repository, f"{tag_name}{MODELCAR_SUFFIX}", image_bytes, media.MANIFEST)
        modelcar = target.with_tag(f"{tag_name}{MODELCAR_SUFFIX}").with_digest(image_digest)
    client.put_manifest(target.repository, tag_name, manifest_bytes, media.MANIFEST)
    evidence = None
    for referrer in layout.referrers(local.digest):
        evidence = _push_referrer(layout, referrer, target, client, local.digest)
    return Pushed(target.with_tag(tag_name).with_digest(local.digest), uploaded, skipped, evidence, modelcar)


def fetch_base(client: RegistryClient, ref: Reference, layout: Layout, *, platform: str) -> BaseImage:
    """The modelcar base, pinned by digest, into ``layout`` (once: later builds read it from there).

    An index is resolved to ``platform``; Docker's media types become OCI's (same bytes).
    """
    if not ref.digest:
        raise InputError(f"package.modelcar.base `{ref}` is not pinned by digest",
                         fix="write it as REGISTRY/REPOSITORY@sha256:…; a tag could change the image under the same package")  # fmt: skip
    where = f"the modelcar base {ref.name}@{ref.digest}"
    data = _manifest_cached(client, ref, layout)
    manifest = json.loads(data)
    if manifest.get("mediaType") in (media.INDEX, media.DOCKER_MANIFEST_LIST) or "manifests" in manifest:
        chosen = pick_platform(manifest, platform, where)
        ref = ref.with_digest(chosen)
        manifest = json.loads(_manifest_cached(client, ref, layout))
    assert ref.digest is not None
    config_descriptor = Descriptor(media.IMAGE_CONFIG, manifest["config"]["digest"], int(manifest["config"]["size"]))
    layers = tuple(oci_layer(layer, where) for layer in manifest.get("layers") or [])
    for blob in (config_descriptor, *layers):
        if not layout.has_blob(blob.digest):
            client.download_blob(ref.repository, blob, layout.blob_path(blob.digest))
    config = layout.read_json(config_descriptor.digest)
    if not isinstance(config.get("rootfs"), dict) or len(config["rootfs"].get("diff_ids") or []) != len(layers):
        raise ExternalError(f"{where}: its config's rootfs.diff_ids do not match its {len(layers)} layer(s)",
                            fix="pick a base image built by a standard tool")  # fmt: skip
    return BaseImage(ref.name, ref.digest, config, config_descriptor, layers)


def _manifest_cached(client: RegistryClient, ref: Reference, layout: Layout) -> bytes:
    assert ref.digest is not None
    if layout.has_blob(ref.digest):
        return layout.read_bytes(ref.digest)
    data, _, _ = client.get_manifest(ref)  # checked against ref.digest
    layout.put_bytes(data)
    return data


def resolve_storage_uri(client: RegistryClient, ref: Reference, mode: StorageMode) -> str:
    """The storageUri of the gated artifact ``ref`` (by digest): its manifest names its modelcar image.

    The annotation is inside the artifact's digest, so what deploy runs is what was gated.
    """
    if not ref.digest:
        raise InputError(f"{ref} is not pinned by digest",
                         fix="deploy REF@sha256:… as printed by `mlpipex push`; tags can move, digests cannot")  # fmt: skip
    data, _, _ = client.get_manifest(ref)
    return storage_uri(ref, artifact_digest=ref.digest, modelcar_digest=modelcar_digest_of(json.loads(data)), mode=mode)


def _push_referrer(layout: Layout, referrer: Descriptor, target: Reference, client: RegistryClient, subject: str) -> str:
    data = layout.read_bytes(referrer.digest)
    manifest = json.loads(data)
    for blob in [Descriptor.from_dict(manifest["config"]), *map(Descriptor.from_dict, manifest["layers"])]:
        client.upload_blob(target.repository, blob, layout.read_bytes(blob.digest))
    descriptor = Descriptor(media.MANIFEST, referrer.digest, len(data), manifest.get("annotations") or {},
                            manifest.get("artifactType"))  # fmt: skip
    return client.attach(target.repository, subject, data, descriptor)


def pull(client: RegistryClient, ref: Reference, out: Path) -> dict[str, Any]:
    """Fetch the manifest and every blob, unpacking layers while they stream in.

    Each layer is unpacked into a staging directory and moved into ``out`` only
    after its size and digest check out, so ``out`` never holds unverified files.
    """
    data, media_type, digest = client.get_manifest(ref)
    if media_type != media.MANIFEST:
        raise ExternalError(f"{ref} is a {media_type}, not an OCI image manifest",
                            fix="pull a model package pushed by `mlpipex push`")  # fmt: skip
    manifest = json.loads(data)
    out.mkdir(parents=True, exist_ok=True)
    config = Descriptor.from_dict(manifest["config"])
    client.download_blob(ref.repository, config, out / "config.json")
    for layer in map(Descriptor.from_dict, manifest["layers"]):
        if layer.media_type not in (media.LAYER, media.LAYER_TAR):
            continue
        staging = out / f".staging-{layer.digest[7:19]}"
        mode: Literal["r|gz", "r|"] = "r|gz" if layer.media_type == media.LAYER else "r|"

        def unpack(reader: Any, staging: Path = staging, mode: Literal["r|gz", "r|"] = mode) -> None:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            _extract_stream(reader, staging, mode)

        try:
            client.stream_blob(ref.repository, layer, unpack)
            _merge(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    (out / "manifest.json").write_bytes(data)
    return {"digest": digest, "manifest": manifest}


def _extract_stream(reader: Any, dest: Path, mode: Literal["r|gz", "r|"]) -> None:
    try:
        with tarfile.open(fileobj=reader, mode=mode, bufsize=1 << 20) as tar:
            # tarfile's stream reader slices its buffer on every read; reading a whole
            # buffer at a time (instead of 16 KiB) avoids copying each byte ~64 times.
            tar.copybufsize = 1 << 20  # type: ignore[attr-defined]  # public, missing from typeshed
            for member in tar:
                target = (dest / member.name).resolve()
                if not target.is_relative_to(dest.resolve()) or member.issym() or member.islnk():
                    raise ExternalError(f"refusing to unpack `{member.name}`: it points outside the output directory")
                tar.extract(member, dest, filter="data")
    except tarfile.ReadError as exc:
        raise EOFError(f"the layer is not a readable tar archive: {exc}") from None


def _merge(staging: Path, out: Path) -> None:
    for path in sorted(staging.rglob("*")):
        target = out / path.relative_to(staging)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)


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
    modelcar: dict[str, Any] | None = None  # the modelcar image's manifest, if the package has one

    def to_json(self) -> str:
        return json.dumps({"reference": self.reference, "digest": self.digest, "manifest": self.manifest,
                           "config": self.config, "referrers": self.referrers, "modelcar": self.modelcar},
                          indent=2)  # fmt: skip

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
        if self.modelcar is not None:
            image = self.modelcar
            base = (image.get("annotations") or {}).get(media.BASE_NAME)
            lines.append(f"  modelcar    {m['annotations'][media.MODELCAR]} (image: {len(image.get('layers', []))} layers, "
                         f"base {base}@{(image.get('annotations') or {}).get(media.BASE_DIGEST, '?')[:19]}…)")  # fmt: skip
        else:
            lines.append("  modelcar    none (set package.modelcar.base to build one)")
        evidence = [r for r in self.referrers if r.get("artifactType") != media.DEPLOYMENT_ARTIFACT]
        for r in self.referrers:
            if r.get("artifactType") == media.DEPLOYMENT_ARTIFACT:  # when the environment tag moved here
                notes = r.get("annotations") or {}
                lines.append(f"  deployed    {notes.get(media.ENVIRONMENT, '?')} since {notes.get(media.CREATED, '?')}")
                continue
            lines.append(f"  evidence    {r.get('artifactType')} {r['digest'][:19]}…")
            for key in (media.CREATED, media.SOURCE, media.REVISION):  # provenance rides on the report
                if value := (r.get("annotations") or {}).get(key):
                    lines.append(f"  {key.rsplit('.', 1)[-1]:<11} {value}")
        if not evidence:
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
    image = None
    if image_digest := modelcar_digest_of(manifest):
        image = json.loads(client.get_manifest(ref.with_digest(image_digest))[0])
    return Inspection(str(ref.with_digest(digest)), digest, manifest, json.loads(response.content),
                      client.referrers(ref.repository, digest), image)  # fmt: skip


def inspect_local(layout: Layout, ref_name: str) -> Inspection:
    descriptor = layout.resolve(ref_name)
    manifest = layout.read_json(descriptor.digest)
    config = layout.read_json(manifest["config"]["digest"])
    referrers = [r.to_dict() for r in layout.referrers(descriptor.digest)]
    image_digest = modelcar_digest_of(manifest)
    image = layout.read_json(image_digest) if image_digest else None
    return Inspection(f"{layout.root}:{ref_name}", descriptor.digest, manifest, config, referrers, image)
