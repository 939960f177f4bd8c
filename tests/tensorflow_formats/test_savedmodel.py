"""Runs savedmodel_cases.py in a pytest process of its own.

TensorFlow and PyTorch abort the interpreter when both are loaded into one process
(their bundled native libraries clash), and tests/torch_formats loads torch into
the main test process. The cases run in a child pytest; its report is this test's.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_the_savedmodel_cases_in_their_own_process(tmp_path):
    if importlib.util.find_spec("tensorflow") is None:  # never imported here: see above
        pytest.skip("tensorflow is not installed; scripts/test.sh installs it into .venv-tensorflow")
    junit = tmp_path / "junit.xml"
    child = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / "savedmodel_cases.py"), "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", "--basetemp", str(tmp_path / "base")],
        cwd=HERE.parents[1], capture_output=True, text=True, timeout=900, env={**os.environ, "MLPIPEX_TF_CHILD": "1"},
    )  # fmt: skip
    assert child.returncode == 0, child.stdout[-6000:] + child.stderr[-2000:]
    assert " passed" in child.stdout and "skipped" not in child.stdout, child.stdout[-2000:]
