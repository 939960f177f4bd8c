"""What the HTTP path and validation of `mlpipex serve` add to a bare `session.run`.

Starts `mlpipex serve` (KServe's model server) on the quickstart package and times
v2 requests over one keep-alive connection (one row, and a batch of 64), next to
a bare onnxruntime `session.run` of the same input in this process, alternating
blocks so both see the same machine state. Prints p50s, the ratio and the
overhead in microseconds.

    .venv/bin/python benchmarks/serve_latency.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from _common import QUICKSTART, machine, table
from mlpipex.runtime import read_table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "quickstart"
        shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".mlpipex"))
        for command in (["gate", "--quiet", "--only", "schema"], ["package"]):
            subprocess.run([sys.executable, "-m", "mlpipex", *command], cwd=project, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", "--http-port", str(port)], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            for _ in range(200):
                try:
                    connection.request("GET", "/v2/models/breast-cancer/ready")
                    if connection.getresponse().read() and True:
                        break
                except OSError:
                    connection = http.client.HTTPConnection("127.0.0.1", port)
                    time.sleep(0.1)
            table_ = read_table(project / "data" / "holdout.csv")
            names = [k for k in table_ if k not in ("diagnosis", "training_prediction", "training_score")]
            features = np.column_stack([table_[n] for n in names]).astype(np.float32)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(str(project / "models" / "model.onnx"), options,
                                           providers=["CPUExecutionProvider"])  # fmt: skip
            rows = []
            for batch in (1, 64):
                x = np.resize(features, (batch, features.shape[1]))
                body = json.dumps({"inputs": [{"name": "features", "shape": list(x.shape), "datatype": "FP32",
                                               "data": x.ravel().tolist()}]})  # fmt: skip
                http_ms, bare_ms = [], []

                def http_once(body: str = body) -> None:
                    connection.request("POST", "/v2/models/breast-cancer/infer", body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    response = connection.getresponse()
                    response.read()
                    assert response.status == 200

                for _ in range(50):
                    http_once()
                    session.run(None, {"features": x})
                for _ in range(args.rounds):
                    for _ in range(args.requests):
                        t0 = time.perf_counter_ns()
                        http_once()
                        http_ms.append((time.perf_counter_ns() - t0) / 1e6)
                    for _ in range(args.requests):
                        t0 = time.perf_counter_ns()
                        session.run(None, {"features": x})
                        bare_ms.append((time.perf_counter_ns() - t0) / 1e6)
                h, b = float(np.median(http_ms)), float(np.median(bare_ms))
                rows.append([str(batch), f"{h * 1000:.0f}", f"{np.percentile(http_ms, 99) * 1000:.0f}",
                             f"{b * 1000:.1f}", f"{h / b:.0f}", f"{(h - b) * 1000:.0f}"])  # fmt: skip
        finally:
            server.terminate()
    print(f"mlpipex serve (v2 REST, keep-alive) against bare session.run ({machine()}, "
          f"{args.rounds}×{args.requests} requests per side)")  # fmt: skip
    print(table(["batch", "serve p50 µs", "serve p99 µs", "bare p50 µs", "ratio", "overhead µs"], rows))


if __name__ == "__main__":
    main()
