"""PyTorch for these tests, from its own cached venv (scripts/test.sh builds .venv-torch).

PyPI's Linux torch is a CUDA build of about 5.4 GB with its nvidia-* wheels, too much
for the test venv every other test rebuilds. Its site-packages go *behind* the test
venv's on sys.path: torch and what only it needs (sympy, networkx, the nvidia
libraries) come from there, nothing the test venv has is shadowed. Same interpreter
(both venvs come from one python3), so the extension modules load.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH_VENV = Path(os.environ.get("MLPIPEX_TORCH_VENV", ROOT / ".venv-torch"))
SITE = TORCH_VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

try:
    import torch  # noqa: F401
except ImportError:
    if SITE.is_dir():
        sys.path.append(str(SITE))


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        reason = f"torch is not importable ({exc}); scripts/test.sh installs it into {TORCH_VENV}"
        if os.environ.get("CI") == "true" and os.environ.get("MLPIPEX_SKIP_TORCH") != "1":
            raise pytest.UsageError(reason) from None
        for item in items:
            if "tests/torch_formats/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))
