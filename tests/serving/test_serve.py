"""`mlpipex serve` is KServe's real model server: v1 and v2 over HTTP, bad requests get 400."""

from __future__ import annotations

import concurrent.futures
import csv
import functools
import json
import operator
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("kserve", reason="serving needs the `kserve` extra (make test installs it)")

EXCLUDE = ("diagnosis", "training_prediction", "training_score")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import shutil

    root = tmp_path_factory.mktemp("serve")
    project = root / "quickstart"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "quickstart", project,
                    ignore=shutil.ignore_patterns(".mlpipex"))  # fmt: skip
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764000000"}
    for args in (["gate", "--quiet", "--only", "schema,smoke"], ["package"]):
        subprocess.run([sys.executable, "-m", "mlpipex", *args], cwd=project, check=True, capture_output=True, env=env)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", "--http-port", str(port)], cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/v2/models/breast-cancer/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"mlpipex serve did not become ready: {process.stderr.read().decode()[-2000:]}")
    rows = list(csv.DictReader((project / "data" / "holdout.csv").open()))
    yield base, rows
    process.terminate()
    process.wait(timeout=10)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def features(row: dict) -> list[float]:
    return [float(v) for k, v in row.items() if k not in EXCLUDE]


def test_v2_batch_matches_the_training_pipeline(server):
    base, rows = server
    batch = [features(r) for r in rows[:20]]
    code, body = post(f"{base}/v2/models/breast-cancer/infer",
                      {"inputs": [{"name": "features", "shape": [20, 30], "datatype": "FP32", "data": functools.reduce(operator.iadd, batch, [])}]})  # fmt: skip
    assert code == 200
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["label"]["data"] == [int(r["training_prediction"]) for r in rows[:20]]
    probabilities = outputs["probabilities"]["data"]
    assert all(abs(probabilities[2 * i + 1] - float(r["training_score"])) < 1e-5 for i, r in enumerate(rows[:20]))


def test_v1_objects(server):
    base, rows = server
    names = [k for k in rows[0] if k not in EXCLUDE]
    code, body = post(f"{base}/v1/models/breast-cancer:predict", {"instances": [dict(zip(names, features(rows[0])))]})
    assert code == 200 and body["predictions"][0]["label"] == int(rows[0]["training_prediction"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": [{"name": "features", "shape": [1, 29], "datatype": "FP32", "data": [1.0] * 29}]}, "expected [N, 30]"),
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "BYTES", "data": ["a"] * 30}]}, "not numeric"),
        ({"inputs": [{"name": "wrong", "shape": [1, 30], "datatype": "FP32", "data": [1.0] * 30}]}, "inputs[wrong]"),
        ({"instances": [[1.0] * 29]}, "expected 30 values"),
        ({"instances": [["x"] + [1.0] * 29]}, "expected a number"),
        ({"instances": [[None] + [1.0] * 29]}, "training never had one"),
    ],
)  # fmt: skip
def test_malformed_requests_get_400_naming_the_field(server, body, fragment):
    base, _ = server
    url = f"{base}/v2/models/breast-cancer/infer" if "inputs" in body else f"{base}/v1/models/breast-cancer:predict"
    code, reply = post(url, body)
    assert code == 400 and fragment in reply["error"]


def test_concurrent_requests(server):
    base, rows = server
    names = [k for k in rows[0] if k not in EXCLUDE]

    def one(row):
        return post(f"{base}/v1/models/breast-cancer:predict", {"instances": [dict(zip(names, features(row)))]})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, rows[:64]))
    assert all(code == 200 for code, _ in results)
    assert [b["predictions"][0]["label"] for _, b in results] == [int(r["training_prediction"]) for r in rows[:64]]
