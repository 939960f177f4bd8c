"""What `mlpipex serve` adds to a model call, next to KServe's own ModelServer serving a trivial model.

Starts `mlpipex serve` (KServe's model server, mlpipex's request guard and
validation, onnxruntime) on the quickstart package, and KServe's `ModelServer` with
a `kserve.Model` that returns its input (the same flags: no gRPC, no access or
latency logs, bound to 127.0.0.1). Times v2 requests over one keep-alive connection
each (one row, and a batch of 64) and a bare onnxruntime `session.run` of the same
input in this process, in interleaved blocks (serve, KServe, bare; `--rounds` times)
so all three see the same machine state.

The target (issue 19): mlpipex's overhead — serve p50 minus the bare `session.run`
p50 — is at most the p50 of KServe's trivial model, i.e. "overhead / kserve" <= 1.

    .venv/bin/python benchmarks/serve_latency.py [--requests 300] [--rounds 5]
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

# KServe's ModelServer with a model that returns its input: the serving stack and nothing else.
ECHO_SERVER = """
import logging, sys
import kserve.model_server
from kserve import InferOutput, InferResponse, Model, ModelServer
from kserve.protocol.rest.server import RESTServer

class Echo(Model):
    def load(self):
        self.ready = True
        return True

    async def predict(self, payload, headers=None, response_headers=None):
        outputs = []
        for tensor in payload.inputs:
            array = tensor.as_numpy()
            output = InferOutput(name=tensor.name, shape=list(array.shape), datatype=tensor.datatype)
            output.set_data_from_numpy(array, binary_data=False)
            outputs.append(output)
        return InferResponse(response_id=payload.id or "echo", model_name=self.name, infer_outputs=outputs)

class Loopback(RESTServer):  # ModelServer binds 0.0.0.0; keep the benchmark on loopback
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.host = "127.0.0.1"

kserve.model_server.RESTServer = Loopback
port = sys.argv[1]
sys.argv = [sys.argv[0], "--http_port", port, "--enable_grpc", "false"]
for name in ("uvicorn.access", "kserve.trace"):
    logging.getLogger(name).disabled = True
model = Echo("breast-cancer")
model.load()
ModelServer(http_port=int(port), enable_grpc=False, enable_latency_logging=False).start([model])
"""


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection once the model answers ready."""
    for _ in range(300):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        try:
            connection.request("GET", "/v2/models/breast-cancer/ready")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return connection
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not become ready")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "quickstart"
        shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".mlpipex"))
        for command in (["gate", "--quiet", "--only", "schema"], ["package"]):
            subprocess.run([sys.executable, "-m", "mlpipex", *command], cwd=project, check=True, capture_output=True)
        serve_port, echo_port = free_port(), free_port()
        servers = [
            subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", "--http-port", str(serve_port)], cwd=project,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env),
            subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(echo_port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env),
        ]  # fmt: skip
        try:
            serve, echo = connect(serve_port), connect(echo_port)
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

                def post(connection: http.client.HTTPConnection, body: str = body) -> None:
                    connection.request("POST", "/v2/models/breast-cancer/infer", body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    response = connection.getresponse()
                    response.read()
                    assert response.status == 200, response.status

                sides = {"serve": lambda: post(serve), "kserve": lambda: post(echo),
                         "bare": lambda x=x: session.run(None, {"features": x})}  # fmt: skip
                times: dict[str, list[float]] = {name: [] for name in sides}
                medians: dict[str, list[float]] = {name: [] for name in sides}
                for call in sides.values():  # warm-up
                    for _ in range(50):
                        call()
                for _ in range(args.rounds):
                    for name, call in sides.items():
                        block = []
                        for _ in range(args.requests):
                            t0 = time.perf_counter_ns()
                            call()
                            block.append((time.perf_counter_ns() - t0) / 1e3)
                        times[name] += block
                        medians[name].append(float(np.median(block)))
                p50 = {name: float(np.median(values)) for name, values in times.items()}
                overhead = p50["serve"] - p50["bare"]
                rows.append([str(batch), f"{p50['serve']:.0f}", f"{np.percentile(times['serve'], 99):.0f}",
                             f"{p50['kserve']:.0f}", f"{np.percentile(times['kserve'], 99):.0f}", f"{p50['bare']:.1f}",
                             f"{overhead:.0f}", f"{overhead / p50['kserve']:.3f}",
                             " ".join(f"{s / k:.3f}" for s, k in zip(medians["serve"], medians["kserve"]))])  # fmt: skip
        finally:
            for server in servers:
                server.terminate()
                server.wait()
    print(f"mlpipex serve against KServe's ModelServer with an echo model and bare session.run (v2 REST, keep-alive; "
          f"{machine()}; {args.rounds} interleaved rounds × {args.requests} requests per side)")  # fmt: skip
    print(table(["batch", "serve p50 µs", "serve p99 µs", "kserve echo p50 µs", "kserve echo p99 µs", "bare p50 µs",
                 "overhead µs", "overhead / kserve", "serve / kserve per round"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
