"""Parse image references: ``host[:port]/path[:tag][@sha256:digest]`` (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mlpipex.errors import InputError

__all__ = ["Reference", "is_loopback", "parse_reference"]

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def target(self) -> str:
        """What the manifest endpoint takes: the digest if known, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:].split("]")[0]
    return host in ("localhost", "::1") or host.startswith("127.")


def parse_reference(text: str) -> Reference:
    fix = "write it as REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], e.g. ghcr.io/acme/models/fraud:1.4.0"
    raw = text.strip()
    for prefix in ("oci://", "docker://"):
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
    digest = None
    if "@" in raw:
        raw, digest = raw.split("@", 1)
        if not _DIGEST.match(digest):
            raise InputError(f"`{text}`: `{digest}` is not a sha256 digest (sha256: and 64 hex digits)", fix=fix)
    if "/" not in raw:
        raise InputError(f"`{text}` has no registry host", fix=fix)
    registry, rest = raw.split("/", 1)
    if not ("." in registry or ":" in registry or registry == "localhost"):
        raise InputError(f"`{text}`: `{registry}` does not look like a registry host", fix=fix)
    tag = None
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InputError(f"`{text}`: `{tag}` is not a valid tag", fix="tags are letters, digits, _ . - (max 128)")
    if not _PATH.match(rest):
        raise InputError(f"`{text}`: `{rest}` is not a valid repository path",
                         fix="repository paths are lowercase letters, digits and separators . _ - /")  # fmt: skip
    return Reference(registry, rest, tag, digest)
