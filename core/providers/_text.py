"""Text helpers the forge adapters share."""

from __future__ import annotations

__all__ = ["fit"]


def fit(markdown: str, limit: int, where: str) -> str:
    """``markdown`` cut to ``limit`` characters with a visible note, keeping its start.

    The start carries the hidden marker that finds a sticky comment again, so the
    cut is always at the end.
    """
    if len(markdown) <= limit:
        return markdown
    note = f"\n\n> ✂️ truncated to fit {where}; see report.json\n"
    return markdown[: limit - len(note)] + note
