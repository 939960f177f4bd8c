"""A local OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``).

Packages land here when no registry is configured, and ``mlpipex push`` copies
from here. Blobs are written to a temporary file and renamed into place by their
digest, so a crash never leaves a blob whose name lies about its content.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from mlpipex.errors import InputError, Location
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, HashingWriter, canonical_json, sha256_digest

__all__ = ["DEFAULT_LAYOUT", "Layout"]

DEFAULT_LAYOUT = Path(".mlpipex/oci")


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        marker = root / "oci-layout"
        if not marker.exists():
            marker.write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        if not (root / "index.json").exists():
            self._write_index({"schemaVersion": 2, "mediaType": media.INDEX, "manifests": []})

    # -- blobs ---------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise InputError(f"unsupported digest `{digest}`")
        return self.blobs / hexdigest

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def put_bytes(self, data: bytes) -> str:
        digest = sha256_digest(data)
        if not self.has_blob(digest):
            with self._staged() as (handle, finish):
                handle.write(data)
                finish(digest)
        return digest

    def put_stream(self, produce: Callable[[HashingWriter], None]) -> tuple[str, int]:
        """Let ``produce`` write a blob; it is hashed on the way and stored by digest."""
        with self._staged() as (handle, finish):
            writer = HashingWriter(handle)
            produce(writer)
            finish(writer.digest)
            return writer.digest, writer.size

    @contextmanager
    def _staged(self) -> Iterator[tuple[BinaryIO, Callable[[str], None]]]:
        fd, name = tempfile.mkstemp(dir=self.blobs, prefix=".partial-")
        tmp = Path(name)
        done = False

        def finish(digest: str) -> None:
            nonlocal done
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o644)  # mkstemp makes 0600; a blob is content, not a secret
            tmp.replace(self.blob_path(digest))
            done = True

        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle, finish
        finally:
            if not done:
                tmp.unlink(missing_ok=True)

    def read_bytes(self, digest: str) -> bytes:
        path = self.blob_path(digest)
        if not path.is_file():
            raise InputError(f"blob {digest} is missing from the local layout {self.root}",
                             fix="rebuild the package with `mlpipex package`")  # fmt: skip
        return path.read_bytes()

    def read_json(self, digest: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.read_bytes(digest))
        return data

    # -- manifests and names -------------------------------------------------------

    def index(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "index.json").read_text())
        return data

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.root / ".index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.root / "index.json")

    def add_manifest(self, manifest: dict[str, Any], *, ref_name: str | None = None) -> Descriptor:
        data = canonical_json(manifest)
        digest = self.put_bytes(data)
        annotations = {media.REF_NAME: ref_name} if ref_name else {}
        descriptor = Descriptor(media.MANIFEST, digest, len(data), annotations, manifest.get("artifactType"))
        index = self.index()
        kept = []
        for entry in index["manifests"]:
            same_name = ref_name and entry.get("annotations", {}).get(media.REF_NAME) == ref_name
            same_unnamed = not ref_name and entry["digest"] == digest and not entry.get("annotations")
            if not (same_name or same_unnamed):
                kept.append(entry)
        index["manifests"] = [*kept, descriptor.to_dict()]
        self._write_index(index)
        return descriptor

    def forget(self, digest: str) -> None:
        """Drop a manifest from the index (its blobs stay: other manifests may share them)."""
        index = self.index()
        index["manifests"] = [entry for entry in index["manifests"] if entry["digest"] != digest]
        self._write_index(index)

    def resolve(self, ref_name: str) -> Descriptor:
        for entry in self.index()["manifests"]:
            if entry.get("annotations", {}).get(media.REF_NAME) == ref_name or entry["digest"] == ref_name:
                return Descriptor.from_dict(entry)
        names = sorted(e["annotations"][media.REF_NAME] for e in self.index()["manifests"]
                       if media.REF_NAME in e.get("annotations", {}))  # fmt: skip
        raise InputError(
            f"`{ref_name}` is not in the local package store",
            location=Location(str(self.root)),
            fix=(f"packages here: {', '.join(names)}" if names else "run `mlpipex package` first"),
        )

    def referrers(self, digest: str) -> list[Descriptor]:
        """Manifests in this layout whose ``subject`` is ``digest`` (the gate report)."""
        found = []
        for entry in self.index()["manifests"]:
            if entry.get("artifactType") and entry["digest"] != digest:
                manifest = self.read_json(entry["digest"])
                if manifest.get("subject", {}).get("digest") == digest:
                    found.append(Descriptor.from_dict(entry))
        return found
