"""Shared fixtures: the quickstart example copied to a scratch directory, config writers."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A private copy of examples/quickstart, so tests can break it freely."""
    dst = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, dst, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__", ".pytest_cache"))
    return dst


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a mlpipex.yaml with the given text and return its path."""

    def write(text: str, name: str = "mlpipex.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# tests/_zoo.py builds deliberately broken models; make it importable as `_zoo`.
import sys as _sys  # noqa: E402

_sys.path.insert(0, str(Path(__file__).resolve().parent))
