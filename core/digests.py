"""Content digests of files (sha256, streamed): the model's, in its gate report and in its package."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest"]


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256, streamed: a model can be larger than memory allows.

    A directory (a SavedModel) is digested as its sorted listing of relative path,
    size and sha256 per file, so the same tree gives the same digest in any clone.
    """
    if path.is_dir():
        listing = hashlib.sha256()
        total = 0
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            size, sha = file_digest(file)
            total += size
            listing.update(f"{file.relative_to(path).as_posix()}\0{size}\0{sha}\n".encode())
        return total, listing.hexdigest()
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
