"""The quickstart regenerates deterministically, and what it regenerates passes the gates."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from mlpipex import load_config, run_gates
from mlpipex.gates import Status

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
FILES = ("models/model.onnx", "models/baseline.onnx", "data/holdout.csv", "data/training.csv")


def digests(root: Path) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in FILES}


def test_train_is_deterministic_and_its_output_passes(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        proc = subprocess.run([sys.executable, str(QUICKSTART / "train.py"), "--out", str(out)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert digests(first) == digests(second)
    assert "candidate 1.1.0: accuracy" in proc.stdout
    # The regenerated files drop into the example and pass every model gate.
    example = tmp_path / "example"
    shutil.copytree(QUICKSTART, example, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__"))
    for f in FILES:
        shutil.copy(first / f, example / f)
    report = run_gates(load_config(example / "mlpipex.yaml"), ["schema", "smoke", "compare", "skew"])
    assert {g.gate: g.status for g in report.gates} == dict.fromkeys(
        ["schema", "smoke", "compare", "skew"], Status.PASS
    )


def test_committed_files_are_small():
    for f in FILES:
        assert (QUICKSTART / f).stat().st_size < 200_000, f
