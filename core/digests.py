"""Content digests of files (sha256, streamed): the model's, in its gate report and in its package."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest"]


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256, streamed: a model can be larger than memory allows."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
