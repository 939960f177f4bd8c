"""A framework from a cached venv of its own, behind the test venv on sys.path.

PyTorch (CUDA build, about 5.4 GB with its nvidia-* wheels) and TensorFlow (about
1.5 GB) are too heavy for the test venv that every pyproject change rebuilds:
scripts/test.sh installs each once into .venv-torch / .venv-tensorflow. Their
site-packages go *behind* the test venv's: the framework and what only it needs
come from there, and nothing the test venv has is shadowed. Both venvs come from
the same python3, so the extension modules load.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def add_framework(module: str, venv: str) -> Path:
    folder = Path(os.environ.get(f"MLPIPEX_{module.upper()}_VENV", ROOT / venv))
    site = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # find_spec, not import: TensorFlow and PyTorch abort a process that loads both
    if importlib.util.find_spec(module) is None and site.is_dir() and str(site) not in sys.path:
        sys.path.append(str(site))
    return folder


def skip_without(module: str, folder: Path, items: list, directory: str) -> None:  # type: ignore[type-arg]
    """Skip the directory's tests when the framework cannot be imported; under CI that is an error."""
    if importlib.util.find_spec(module) is None:
        reason = f"{module} is not installed; scripts/test.sh installs it into {folder}"
        if os.environ.get("CI") == "true" and os.environ.get(f"MLPIPEX_SKIP_{module.upper()}") != "1":
            raise pytest.UsageError(reason) from None
        for item in items:
            if f"tests/{directory}/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))
