"""How much of `mlpipex gate` is the inference it has to do?

Runs the whole ``mlpipex gate`` on the quickstart as a user does (a subprocess:
interpreter start, imports, config, every gate, reports), then replays the same
inference work with bare ``session.run`` calls in this process: the smoke pass over
the holdout for candidate and baseline, the latency gate's warm-up and timed calls
per batch size, and the compare gate's interleaved pairs. Prints both and the
ratio. The unit gate's own test run is reported separately: it is the user's code.

    .venv/bin/python benchmarks/gate_walltime.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnxruntime as ort

from _common import QUICKSTART, machine, table
from mlpipex.config import load_config
from mlpipex.gates.latency import batch_rows
from mlpipex.runtime import OnnxModel, load_holdout


def inference_work(config_path: Path, calls_done: dict[str, int]) -> float:
    """Seconds of bare session.run for the same calls the gates make."""
    config = load_config(config_path)
    holdout = load_holdout(config)
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.gates.latency.threads
    options.inter_op_num_threads = 1
    sessions = {}
    for key, path in (("candidate", config.model.path), ("baseline", config.baseline.path)):
        if path:
            sessions[key] = ort.InferenceSession(str(config.resolve(path)), options, providers=["CPUExecutionProvider"])
    helper = OnnxModel(config.resolve(config.model.path))
    feed_for = lambda rows: helper.feed(rows, holdout.feature_names)  # noqa: E731
    start = time.perf_counter()
    batch = config.gates.smoke.batch_size
    for session in sessions.values():  # smoke (candidate) + compare (baseline) predictions
        for i in range(0, holdout.rows, batch):
            session.run(None, feed_for(holdout.features[i : i + batch]))
    latency = config.gates.latency
    for sla in latency.sla:
        feed = feed_for(batch_rows(holdout.features, sla.batch_size))
        for _ in range(latency.warmup + calls_done.get(f"latency:{sla.batch_size}", latency.iterations)):
            sessions["candidate"].run(None, feed)
    compare = config.gates.compare.latency
    if "baseline" in sessions and compare.enabled:
        feed = feed_for(batch_rows(holdout.features, compare.batch_size))
        for _ in range(latency.warmup + compare.iterations):
            sessions["candidate"].run(None, feed)
            sessions["baseline"].run(None, feed)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config_path = QUICKSTART / "mlpipex.yaml"
    walls, units, inference = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "mlpipex", "gate", "-c", str(config_path),
                                   "--report-dir", tmp, "--quiet"], capture_output=True, text=True)  # fmt: skip
            walls.append(time.perf_counter() - t0)
            report = json.loads((Path(tmp) / "report.json").read_text())
        if proc.returncode != 0:
            sys.exit(f"mlpipex gate failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        gates = {g["gate"]: g for g in report["gates"]}
        units.append(gates["unit"]["duration_s"] if "unit" in gates else 0.0)
        calls = {f"latency:{k}": v for k, v in gates["latency"]["details"]["samples"].items()}
        inference.append(inference_work(config_path, calls))
    wall, unit, work = min(walls), min(units), min(inference)
    rows = [
        ["mlpipex gate (whole run, subprocess)", f"{wall:.2f}"],
        ["  of which the unit gate's test command", f"{unit:.2f}"],
        ["  the rest", f"{wall - unit:.2f}"],
        ["bare session.run of the same inference work", f"{work:.2f}"],
    ]
    print(f"whole-gate wall time on the quickstart ({machine()}, best of {args.repeat})")
    print(table(["what", "seconds"], rows))
    print(f"ratio (whole run without unit tests) / (inference work): {(wall - unit) / work:.2f}")


if __name__ == "__main__":
    main()
