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
    env.pop("MLPIPEX_SERVE_HOST", None)
    process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", "--http-port", str(port), "--max-body-size", "1MiB"],
                               cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)  # fmt: skip
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
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "BYTES", "data": ["a"] * 30}]}, "expected FP32, got BYTES"),
        # issue 15 item 12: these were 500s
        ({"inputs": [{"name": "features", "shape": [2, 30], "datatype": "FP32", "data": [1.0] * 30}]},
         "inputs[features].data: 30 values for shape [2, 30], which holds 60"),
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": [1.0] * 31}]},
         "inputs[features].data: 31 values for shape [1, 30]"),
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": ["abc"] * 30}]},
         "inputs[features].data[0]: expected a number (FP32), got str 'abc'"),
        # item 13: strict datatypes, as documented
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "INT64", "data": [1] * 30}]},
         "inputs[features].datatype: expected FP32, got INT64"),
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}]},
         "inputs[features].datatype: expected FP32, got FP64"),
        # item 14: the extra input is the one named
        ({"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": [1.0] * 30},
                     {"name": "extra", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, "inputs[extra]: unknown input"),
        ({"inputs": [{"name": "wrong", "shape": [1, 30], "datatype": "FP32", "data": [1.0] * 30}]}, "inputs[wrong]"),
        # bodies that do not fit the v2 schema were FastAPI's 422 with pydantic's detail
        ({"inputs": [{"name": "features"}]}, "inputs[0].shape: Field required; inputs[0].datatype: Field required"),
        ({"inputs": [{"name": "features", "shape": "x", "datatype": "FP32", "data": [1]}]},
         "inputs[0].shape: Input should be a valid list"),
        ({"inputs": []}, "inputs: empty; send one tensor `features` of shape [N, 30]"),
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


def test_readme_curl_example_runs_as_written(server):
    """Issue 15 item 15: the README's curl line, run by real curl (form content type, no extra header)."""
    import shlex

    base, rows = server
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [line] = [line for line in readme.splitlines() if line.startswith("$ curl") and "/infer" in line]
    argv = shlex.split(line[2:].split("   #")[0])
    argv = [a.replace("localhost:8080", base.removeprefix("http://")) for a in argv]
    quickstart = Path(__file__).resolve().parents[2] / "examples" / "quickstart"  # where the README runs it
    done = subprocess.run(argv, cwd=quickstart, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    outputs = {o["name"]: o for o in json.loads(done.stdout)["outputs"]}
    assert outputs["label"]["data"] == [int(rows[0]["training_prediction"])]


def test_v1_with_curls_default_content_type(server):
    base, rows = server
    names = [k for k in rows[0] if k not in EXCLUDE]
    body = json.dumps({"instances": [dict(zip(names, features(rows[0])))]})
    done = subprocess.run(["curl", "-s", f"{base}/v1/models/breast-cancer:predict", "-d", body],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert json.loads(done.stdout)["predictions"][0]["label"] == int(rows[0]["training_prediction"])
    done = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", f"{base}/v1/models/breast-cancer:predict", "-d", "a=1"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    reply, code = done.stdout.rsplit("\n", 1)
    assert code == "400" and "not JSON; send JSON" in json.loads(reply)["error"]


def test_a_body_over_the_limit_gets_413(server):
    """Issue 15 item 16: --max-body-size 1MiB; a 2 MiB body is refused before KServe parses it."""
    base, _ = server
    data = [1.0] * (2 * 1024 * 1024 // 4)
    code, reply = post(f"{base}/v2/models/breast-cancer/infer",
                       {"inputs": [{"name": "features", "shape": [len(data) // 30, 30], "datatype": "FP32", "data": data}]})  # fmt: skip
    assert code == 413 and "limit is 1048576" in reply["error"]


def test_binds_loopback_by_default(server):
    """Issue 15 item 16: no --host binds 127.0.0.1 only (127.0.0.2 is loopback too, but another address)."""
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.2", port)) != 0


def test_concurrent_requests(server):
    base, rows = server
    names = [k for k in rows[0] if k not in EXCLUDE]

    def one(row):
        return post(f"{base}/v1/models/breast-cancer:predict", {"instances": [dict(zip(names, features(row)))]})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, rows[:64]))
    assert all(code == 200 for code, _ in results)
    assert [b["predictions"][0]["label"] for _, b in results] == [int(r["training_prediction"]) for r in rows[:64]]
