"""Issue 21: scikit-learn, XGBoost and LightGBM models packaged, loaded back, served and admitted.

Per format: gated and packaged with the CLI; the layer's ``models/`` subtree (what
KServe mounts at /mnt/models) holds exactly one file that KServe's server for the
format takes for the model (its load(): every top-level file with its suffixes,
and no more than one), which the framework loads back as that server does;
`mlpipex serve` on that mount answers what the framework answers; and the
InferenceService naming the format passes KServe's own admission code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from runtime.tabular_projects import data, framework_predict, train, write_project

from mlpipex import run_gates
from mlpipex.cli import main
from mlpipex.config import load_config
from mlpipex.errors import InputError
from mlpipex.gates import Status
from mlpipex.kserve import Rollout, build_inference_service
from mlpipex.oci import Layout
from mlpipex.runtime import FORMATS
from tests.kserve.cluster_fake.kserve_admission import assert_admitted

pytest.importorskip("xgboost")
pytest.importorskip("lightgbm")

ARTIFACT = "ghcr.io/acme/models/cancer@sha256:" + "a" * 64
DEPLOY = """
deploy:
  environments: [{name: production, namespace: ml}]
"""
KSERVE_FILE = {"sklearn": "model.joblib", "xgboost": "model.bst", "lightgbm": "model.bst"}
V2_TYPE = {"sklearn": "FP64", "xgboost": "FP32", "lightgbm": "FP64"}


def _package(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gate and package with the CLI; return the layer's models/ subtree, extracted as KServe mounts it."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
    assert main(["package"]) == 0
    config = load_config(project / "mlpipex.yaml")
    layout = Layout(project / ".mlpipex" / "oci")
    manifest = layout.read_json(layout.resolve(f"{config.model.name}:{config.model.version}").digest)
    out = project / "extracted"
    with tarfile.open(layout.blob_path(manifest["layers"][0]["digest"])) as tar:
        tar.extractall(out, filter="data")
    return out / "models"


def _kserve_model_file(mount: Path, fmt: str) -> Path:
    """KServe's sklearn/xgb/lgb server load(): the top-level files with its suffixes; exactly one is allowed."""
    found = [p for p in mount.iterdir() if p.is_file() and p.name.endswith(FORMATS[fmt].kserve_suffixes)]
    assert len(found) == 1, f"KServe's {fmt} server finds {found} (needs exactly one)"
    return found[0]


def _kserve_load(fmt: str, path: Path):  # type: ignore[no-untyped-def]
    """The framework call KServe's server makes on that file."""
    if fmt == "sklearn":
        import joblib

        return joblib.load(path)
    if fmt == "xgboost":
        import xgboost as xgb

        return xgb.Booster(params={"nthread": 1}, model_file=str(path))
    import lightgbm as lgb

    return lgb.Booster(model_file=str(path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# xgbserver's own call on model.bst: XGBoost warns that it guesses JSON from the content (and loads it)
@pytest.mark.filterwarnings("ignore:.*Unknown file format")
@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_packaged_loaded_back_served_and_admitted(tmp_path, monkeypatch, kserve_admission, fmt):
    pytest.importorskip("kserve", reason="serving needs the `kserve` extra (make test installs it)")
    config_path = write_project(tmp_path / "project", fmt, extra=DEPLOY)
    mount = _package(config_path.parent, monkeypatch)

    # what KServe's server for the format reads, and nothing it would take for a second model
    model_file = _kserve_model_file(mount, fmt)
    assert model_file.name == KSERVE_FILE[fmt]
    X, y, hold_X, _ = data()
    native = train(fmt, X, y)
    expected_labels, expected_scores = framework_predict(fmt, native, hold_X)
    loaded = _kserve_load(fmt, model_file)
    _, scores = framework_predict(fmt, loaded, hold_X)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-12)
    serving_config = json.loads((mount / "mlpipex" / "mlpipex-config.json").read_text())
    assert serving_config["format"] == fmt and serving_config["model"]["path"] == f"models/{KSERVE_FILE[fmt]}"

    # `mlpipex serve` on the mount, through the same validation as an ONNX package
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLPIPEX_SERVE_HOST"}
    process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", str(mount), "--http-port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}/v2/models/cancer-{fmt}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlpipex serve did not start: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                time.sleep(0.2)
        dtype = np.float32 if V2_TYPE[fmt] == "FP32" else np.float64
        body = {"inputs": [{"name": "input-0", "shape": list(hold_X.shape), "datatype": V2_TYPE[fmt],
                            "data": hold_X.astype(dtype).ravel().tolist()}]}  # fmt: skip
        code, reply = _post(f"{base}/infer", body)
        assert code == 200, reply
        outputs = {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in reply["outputs"]}
        assert np.array_equal(outputs["label"], expected_labels)
        np.testing.assert_allclose(outputs["probabilities"][:, 1], expected_scores, rtol=1e-6 if fmt == "xgboost" else 1e-12)
        # the validation an ONNX package gets: a wrong width, a wrong datatype are 400s naming the field
        narrow = {"inputs": [{"name": "input-0", "shape": [1, 29], "datatype": V2_TYPE[fmt], "data": [0.0] * 29}]}
        code, reply = _post(f"{base}/infer", narrow)
        assert code == 400 and "inputs[input-0].shape" in reply["error"]
        other = "FP32" if V2_TYPE[fmt] == "FP64" else "FP64"
        code, reply = _post(f"{base}/infer", {"inputs": [{**body["inputs"][0], "datatype": other}]})
        assert code == 400 and f"expected {V2_TYPE[fmt]}" in reply["error"]
    finally:
        process.terminate()
        process.wait(timeout=10)

    # the InferenceService names the format KServe picks a runtime by, and KServe admits it
    config = load_config(config_path)
    service = build_inference_service(config, config.deploy.environments[0], Rollout(ARTIFACT))
    model = service["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": fmt} and model["protocolVersion"] == "v2"
    admitted = assert_admitted(service)
    assert admitted["spec"]["predictor"]["model"]["modelFormat"]["name"] == fmt


def test_an_include_that_kserve_would_take_for_a_second_model_is_refused(tmp_path, monkeypatch, capsys):
    config_path = write_project(tmp_path, "xgboost", extra="package: {include: [notes.json]}\n")
    (tmp_path / "notes.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert main(["package", "--allow-ungated"]) == 2
    err = capsys.readouterr().err
    assert "models/notes.json next to models/model.bst" in err and "more than one model file" in err
    assert config_path.exists()


def test_a_ubjson_booster_keeps_its_suffix(tmp_path, monkeypatch):
    """XGBoost reads a file by its name's suffix: UBJSON must stay .ubj (xgbserver reads .ubj too)."""
    config_path = write_project(tmp_path / "project", "xgboost")
    project = config_path.parent
    X, y, _, _ = data()
    train("xgboost", X, y).save_model(str(project / "model.ubj"))
    config_path.write_text(config_path.read_text().replace("path: model.json", "path: model.ubj"))
    mount = _package(project, monkeypatch)
    model_file = _kserve_model_file(mount, "xgboost")
    assert model_file.name == "model.ubj"
    _kserve_load("xgboost", model_file)


def test_a_tampered_pickle_in_a_package_is_not_unpickled(tmp_path, monkeypatch):
    """The package pins the model's digest: `mlpipex serve` checks it before joblib runs the file."""
    pytest.importorskip("kserve")
    from mlpipex.serving.model import PackageModel
    from mlpipex.serving.package import open_package

    mount = _package(write_project(tmp_path / "project", "sklearn").parent, monkeypatch)
    (mount / "model.joblib").write_bytes((mount / "model.joblib").read_bytes() + b"\0")
    model = PackageModel(open_package(str(mount), config_path=None, cache=tmp_path / "cache"))
    with pytest.raises(InputError, match="not the file the package pins"):
        model.load()


def test_a_torch_export_program_needs_a_named_runtime(tmp_path):
    config_path = write_project(tmp_path, "sklearn", extra=DEPLOY)
    config_path.write_text(config_path.read_text().replace("format: sklearn", "format: pt2"))
    config = load_config(config_path)
    with pytest.raises(InputError, match=r"no KServe runtime serves a torch\.export program"):
        build_inference_service(config, config.deploy.environments[0], Rollout(ARTIFACT))
    config_path.write_text(config_path.read_text().replace("environments:", "runtime: mlpipex-serve\n  environments:"))
    config = load_config(config_path)
    model = build_inference_service(config, config.deploy.environments[0], Rollout(ARTIFACT))["spec"]["predictor"]["model"]
    assert model["runtime"] == "mlpipex-serve" and model["modelFormat"] == {"name": "pytorch"}


@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_validate_and_the_serving_gate_pass_on_each_format(tmp_path, fmt):
    """`mlpipex validate` finds nothing, and the holdout through the KServe HTTP path gives the offline answers."""
    pytest.importorskip("kserve")
    config_path = write_project(tmp_path, fmt, extra="")
    assert main(["validate", "-c", str(config_path)]) == 0
    text = config_path.read_text().replace("  unit: false\n", "  unit: false\n  serving: {enabled: true}\n")
    config_path.write_text(text)
    gate = run_gates(load_config(config_path), ["serving"]).gates[0]
    assert gate.status is Status.PASS, gate.message
    assert {m.name for m in gate.measurements} >= {"label mismatches", "probabilities max_abs_diff"}
