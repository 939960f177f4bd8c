"""A 2 GiB model pushes and pulls with less than 200 MB growth in resident memory.

The commands run as subprocesses (as in CI); their peak RSS is read from
getrusage(RUSAGE_CHILDREN) and compared with the same commands on the small
quickstart package, so interpreter and library memory cancel out.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

GIB = 1 << 30
pytestmark = pytest.mark.slow


def peak_rss_mb(args: list[str], cwd: Path) -> float:
    proc = subprocess.run([sys.executable, "-m", "mlpipex", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "SOURCE_DATE_EPOCH": "1764000000"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def test_two_gib_model_streams(quickstart, registry, tmp_path):
    # Small package first: getrusage reports the maximum over children so far.
    small = [peak_rss_mb(["package", "--allow-ungated"], quickstart),
             peak_rss_mb(["push", "--to", f"{registry.address}/m/small"], quickstart),
             peak_rss_mb(["pull", f"{registry.address}/m/small:1.1.0", "-o", str(tmp_path / "small")], quickstart)]  # fmt: skip
    baseline = max(small)
    big = quickstart / "models" / "big.bin"
    block = os.urandom(1 << 20)
    with big.open("wb") as handle:
        for _ in range(2 * 1024):
            handle.write(block)
    config = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    config["model"].update(path="models/big.bin", version="2.0.0")
    config["package"] = {"compression": "none"}
    (quickstart / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    peak_rss_mb(["package", "--allow-ungated", "--report", "absent.json"], quickstart)
    push_peak = peak_rss_mb(["push", "--to", f"{registry.address}/m/big"], quickstart)
    out = tmp_path / "big"
    pull_peak = peak_rss_mb(["pull", f"{registry.address}/m/big:2.0.0", "-o", str(out)], quickstart)
    assert (out / "models" / "breast-cancer" / "1" / "model.onnx").stat().st_size == 2 * GIB  # Triton layout
    assert push_peak - baseline < 200, f"push grew {push_peak - baseline:.0f} MB"
    assert pull_peak - baseline < 200, f"pull grew {pull_peak - baseline:.0f} MB"
    big.unlink()
