"""Does the latency gate measure the model, or itself?

Times the quickstart model two ways in one process, in alternating blocks so both
see the same machine state: the gate's own path (``OnnxModel.runner`` inside
``time_calls``) and a bare ``session.run`` loop with ``perf_counter_ns`` around it.
Prints the p50 ratio (target <= 1.05) and the per-call overhead in microseconds.

    .venv/bin/python benchmarks/latency_fidelity.py [--rounds 20] [--calls 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort

from _common import QUICKSTART, machine, table
from mlpipex.config import load_config
from mlpipex.gates.latency import batch_rows
from mlpipex.runtime import OnnxModel, load_holdout, time_calls


def bare_loop(session: ort.InferenceSession, feed: dict[str, np.ndarray], calls: int) -> np.ndarray:
    clock = time.perf_counter_ns
    out = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        start = clock()
        session.run(None, feed)
        out[i] = clock() - start
    return out / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()

    config = load_config(QUICKSTART / "mlpipex.yaml")
    holdout = load_holdout(config)
    model = OnnxModel(config.resolve(config.model.path), threads=1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    bare = ort.InferenceSession(str(config.resolve(config.model.path)), options, providers=["CPUExecutionProvider"])

    rows = []
    for batch in (1, 64):
        feed = model.feed(batch_rows(holdout.features, batch), holdout.feature_names)
        gate_ms, bare_ms = [], []
        time_calls(model.runner(feed), iterations=200)  # warm both
        bare_loop(bare, feed, 200)
        for round_ in range(args.rounds):
            # Alternate which side goes first so neither always runs on a warmer cache.
            first_gate = round_ % 2 == 0
            if first_gate:
                gate_ms.append(time_calls(model.runner(feed), iterations=args.calls))
            bare_ms.append(bare_loop(bare, feed, args.calls))
            if not first_gate:
                gate_ms.append(time_calls(model.runner(feed), iterations=args.calls))
        g, b = np.median(np.concatenate(gate_ms)), np.median(np.concatenate(bare_ms))
        rows.append([str(batch), f"{g * 1000:.2f}", f"{b * 1000:.2f}", f"{g / b:.3f}", f"{(g - b) * 1000:+.2f}"])
    print(f"latency-gate fidelity on the quickstart model ({machine()}, "
          f"{args.rounds}×{args.calls} calls per side)")  # fmt: skip
    print(table(["batch", "gate p50 µs", "bare p50 µs", "ratio", "overhead µs/call"], rows))
    print("target: ratio <= 1.05")


if __name__ == "__main__":
    main()
