"""Gate 7, serving skew: the holdout through the real HTTP path gives the offline answers.

Starts ``mlpipex serve`` (KServe's model server around onnxruntime, with request
validation) on a free loopback port, sends the holdout as v2 requests, and
compares every output with what the model gave offline. It catches what only the
serving path can break: input validation rejecting real rows, dtype conversions,
batching, output encoding. Off by default: it needs the `kserve` extra.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import EXIT_BAD_INPUT, ExternalError
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.serving.validation import V2_DATATYPE

NAME = "serving"


def evaluate(offline: dict[str, np.ndarray], served: dict[str, np.ndarray], *, max_abs_diff: float,
             rejected: int, rows: int) -> GateResult:  # fmt: skip
    measurements = [Measurement("rejected requests", rejected, threshold="== 0",
                                status=Status.FAIL if rejected else Status.PASS)]  # fmt: skip
    problems = [f"{rejected} requests rejected by the server"] if rejected else []
    for name, expected in offline.items():
        got = served.get(name)
        if got is None or got.shape != expected.shape:
            problems.append(f"output `{name}`: shape {None if got is None else list(got.shape)} "
                            f"served, {list(expected.shape)} offline")  # fmt: skip
            continue
        if expected.dtype.kind in "f":
            diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))) if got.size else 0.0
            ok = diff <= max_abs_diff
            measurements.append(Measurement(f"{name} max_abs_diff", diff, threshold=f"<= {max_abs_diff:g}",
                                            status=Status.PASS if ok else Status.FAIL))  # fmt: skip
            if not ok:
                problems.append(f"output `{name}` differs by up to {diff:.3g}")
        else:
            mismatched = int(np.sum(got != expected))
            measurements.append(Measurement(f"{name} mismatches", mismatched, threshold="== 0",
                                            status=Status.FAIL if mismatched else Status.PASS))  # fmt: skip
            if mismatched:
                problems.append(f"output `{name}` differs on {mismatched} of {rows} rows")
    if problems:
        return GateResult(NAME, Status.FAIL, "serving skew: " + "; ".join(problems), measurements)
    return GateResult(NAME, Status.PASS, f"{rows} rows through the KServe HTTP path match the offline outputs",
                      measurements)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _package_dir(ctx: GateContext, root: Path) -> Path:
    """What `mlpipex package` would ship, minus the report: enough for the server."""
    from mlpipex.oci import model_config_blob, reference_profile, serving_environment

    config = ctx.config
    model = config.resolve(config.model.path)
    (root / "models").mkdir(parents=True)
    if model.is_dir():  # a SavedModel
        shutil.copytree(model, root / "models" / model.name)
    else:
        shutil.copy(model, root / "models" / model.name)
    blob = model_config_blob(config, model_file=f"models/{model.name}", model_digest="", model_size=model.stat().st_size,
                             report=None, profile=reference_profile(config), environment=serving_environment(config))  # fmt: skip
    (root / "config.json").write_text(json.dumps(blob))
    return root


def run(ctx: GateContext) -> GateResult:
    try:
        import kserve  # noqa: F401
    except ImportError:
        return GateResult(NAME, Status.ERROR, "the serving gate needs KServe's model server: pip install 'mlpipex[kserve]'",
                          error_exit_code=EXIT_BAD_INPUT)  # fmt: skip
    settings = ctx.config.gates.serving
    holdout = ctx.holdout
    offline_predictions = ctx.predictions("candidate")
    with tempfile.TemporaryDirectory(prefix="mlpipex-serving-") as tmp:
        package = _package_dir(ctx, Path(tmp) / "package")
        port = _free_port()
        process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", str(package), "--http-port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}/v2/models/{ctx.config.model.name}"
            _wait_ready(process, f"{base}/ready", settings.startup_timeout)
            served: dict[str, list[np.ndarray]] = {}
            spec = ctx.candidate.inputs[0]  # the dtype the model takes: FP32 for most ONNX, FP64 for scikit-learn
            dtype = np.dtype(spec.dtype) if spec.dtype in V2_DATATYPE else np.dtype(np.float32)
            datatype = V2_DATATYPE.get(str(dtype), "FP32")
            rejected = 0
            rows = holdout.rows
            for start in range(0, rows, settings.batch_size):
                batch = holdout.features[start : start + settings.batch_size]
                body = {"inputs": [{"name": spec.name, "shape": list(batch.shape), "datatype": datatype,
                                    "data": batch.astype(dtype).ravel().tolist()}]}  # fmt: skip
                code, reply = _post(f"{base}/infer", body)
                ctx.progress("serving (HTTP)", min(start + settings.batch_size, rows), rows)
                if code != 200:
                    rejected += 1
                    continue
                for output in reply["outputs"]:
                    served.setdefault(output["name"], []).append(np.asarray(output["data"]).reshape(output["shape"]))
        finally:
            process.terminate()
            process.wait(timeout=10)
    offline = {}
    roles = ctx.candidate.output_roles(ctx.config.model.task, ctx.config.model.outputs.model_dump())
    for role, name in roles.items():
        value = {"label": offline_predictions.labels, "probabilities": offline_predictions.probabilities,
                 "value": offline_predictions.values}[role]  # fmt: skip
        if value is not None:
            offline[name] = np.asarray(value)
    joined = {name: np.concatenate(parts) for name, parts in served.items()}
    if ctx.config.model.task == "regression":
        joined = {k: v.reshape(rows, -1)[:, 0] for k, v in joined.items()}
    return evaluate(offline, joined, max_abs_diff=settings.max_abs_diff, rejected=rejected, rows=rows)


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise ExternalError(f"mlpipex serve exited with {process.returncode}: {stderr.strip()[-500:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise ExternalError(f"the model server was not ready after {timeout:g} s")
