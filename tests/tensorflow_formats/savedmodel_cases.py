"""Issue 21, item 4 (run by test_savedmodel.py in a process of its own): a TensorFlow SavedModel through the gates, the package, serving and KServe admission.

The SavedModel is the quickstart's ONNX graph (Scaler → LinearClassifier) rebuilt in
TensorFlow from the graph's weights, so its answers must equal the ONNX model's.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml

from mlpipex import load_config, run_gates
from mlpipex.cli import main
from mlpipex.gates import Status
from mlpipex.kserve import Rollout, build_inference_service
from mlpipex.oci import Layout
from mlpipex.runtime import load_holdout, load_model
from tests.kserve.cluster_fake.kserve_admission import assert_admitted

tf = pytest.importorskip("tensorflow")

SIGNATURE = {"inputs": [{"name": "features", "dtype": "float32", "shape": ["batch", 30]}],
             "outputs": [{"name": "probabilities", "dtype": "float32", "shape": ["batch", 2]}]}  # fmt: skip
ARTIFACT = "ghcr.io/acme/models/bc@sha256:" + "a" * 64


def saved_model(onnx_path: Path, out: Path, *, flip: bool = False) -> Path:
    attrs = {}
    for node in onnx.load(str(onnx_path)).graph.node:
        for a in node.attribute:
            attrs[a.name] = onnx.helper.get_attribute_value(a)
    weight = np.asarray(attrs["coefficients"], np.float32).reshape(len(attrs["intercepts"]), -1) * (-1 if flip else 1)

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.offset = tf.constant(np.asarray(attrs["offset"], np.float32))
            self.scale = tf.constant(np.asarray(attrs["scale"], np.float32))
            self.weight = tf.Variable(weight.T)
            self.bias = tf.Variable(np.asarray(attrs["intercepts"], np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 30], tf.float32, name="features")])
        def __call__(self, features):  # type: ignore[no-untyped-def]
            return {"probabilities": tf.sigmoid(((features - self.offset) * self.scale) @ self.weight + self.bias)}

    module = Classifier()
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.__call__})
    return out


def _as_savedmodel(quickstart: Path, *, flip: bool = False) -> Path:
    saved_model(quickstart / "models" / "model.onnx", quickstart / "models" / "model.savedmodel", flip=flip)
    config = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data["model"].update(path="models/model.savedmodel", format="savedmodel", signature=SIGNATURE,
                         outputs={"probabilities": "probabilities"})  # fmt: skip
    data["baseline"]["format"] = "onnx"  # the quickstart's deployed model stays ONNX
    # A TensorFlow function call costs about 10x an onnxruntime session.run on this tiny model (~100 µs
    # vs ~9 µs): the compare gate rightly flags that against the 1.5x default; these tests are about metrics.
    data["gates"]["compare"]["latency"]["max_ratio"] = 100
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def test_the_gates_pass_on_a_savedmodel_and_fail_on_a_regressed_one(quickstart):
    config = _as_savedmodel(quickstart)
    gates = ["schema", "smoke", "latency", "compare", "skew"]
    report = run_gates(load_config(config), gates)  # against the quickstart's ONNX baseline
    assert {g.gate: g.status for g in report.gates} == dict.fromkeys(gates, Status.PASS), [g.message for g in report.gates]
    schema = report.gates[0]
    assert schema.message.startswith("valid TensorFlow SavedModel, signature as declared")
    assert schema.details["inputs"] == [{"name": "features", "dtype": "float32", "shape": ["?", 30]}]
    assert report.model.sha256 and report.environment["tensorflow"] == tf.__version__

    _as_savedmodel(quickstart, flip=True)
    statuses = {g.gate: g.status for g in run_gates(load_config(config), ["smoke", "compare", "skew"]).gates}
    assert statuses == dict.fromkeys(["smoke", "compare", "skew"], Status.FAIL)


def test_the_signature_is_read_from_the_savedmodel(quickstart):
    config = _as_savedmodel(quickstart)
    config.write_text(config.read_text().replace("dtype: float32", "dtype: float64", 1))
    gate = run_gates(load_config(config), ["schema"]).gates[0]
    assert gate.status is Status.FAIL and "declared float64, the graph has float32" in gate.message
    (quickstart / "models" / "model.savedmodel" / "saved_model.pb").unlink()
    gate = run_gates(load_config(config), ["schema"]).gates[0]
    assert gate.status is Status.FAIL and "has no saved_model.pb" in gate.message


def test_the_answers_are_the_onnx_graphs(quickstart, tmp_path):
    config = load_config(quickstart / "mlpipex.yaml")
    holdout = load_holdout(config)
    expected = load_model(config.resolve(config.model.path)).predict(
        holdout.features, holdout.feature_names, task="classification", batch_size=64)
    model = load_model(saved_model(config.resolve(config.model.path), tmp_path / "sm"), "savedmodel")
    got = model.predict(holdout.features, holdout.feature_names, task="classification", batch_size=64)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-6)
    assert np.array_equal(got.labels, expected.labels)


def test_packaged_as_a_triton_repository_served_and_admitted(quickstart, monkeypatch, kserve_admission):
    pytest.importorskip("kserve")
    from kserve import InferInput, InferRequest

    from mlpipex.serving.model import PackageModel
    from mlpipex.serving.package import open_package

    config_path = _as_savedmodel(quickstart)
    monkeypatch.chdir(quickstart)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
    assert main(["package"]) == 0
    layout = Layout(quickstart / ".mlpipex" / "oci")
    first = layout.resolve("breast-cancer:1.1.0").digest
    assert main(["package"]) == 0
    assert layout.resolve("breast-cancer:1.1.0").digest == first  # the directory's digest is reproducible
    manifest = layout.read_json(first)
    out = quickstart / "extracted"
    with tarfile.open(layout.blob_path(manifest["layers"][0]["digest"])) as tar:
        tar.extractall(out, filter="data")
    mount = out / "models"
    assert (mount / "breast-cancer" / "1" / "model.savedmodel" / "saved_model.pb").is_file()
    assert 'platform: "tensorflow_savedmodel"' in (mount / "breast-cancer" / "config.pbtxt").read_text()
    blob = json.loads((mount / "mlpipex-config.json").read_text())
    assert blob["model"]["path"] == "models/breast-cancer/1/model.savedmodel" and blob["format"] == "savedmodel"

    # served from KServe's mount through the same validation; answers equal TensorFlow's
    model = PackageModel(open_package(str(mount), config_path=None, cache=quickstart / "cache"))
    model.load()
    holdout = load_holdout(load_config(config_path))
    rows = holdout.features[:16].astype(np.float32)
    tensor = InferInput("features", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=False)
    reply = asyncio.run(model.predict(InferRequest(model_name="breast-cancer", infer_inputs=[tensor])))
    served = reply.outputs[0].as_numpy()
    direct = load_model(quickstart / "models" / "model.savedmodel", "savedmodel")
    expected = direct.run(direct.feed(holdout.features[:16], holdout.feature_names))["probabilities"]
    assert np.array_equal(served, expected)

    config = load_config(config_path)
    config_data = yaml.safe_load(config_path.read_text())
    config_data["deploy"] = {"environments": [{"name": "production", "namespace": "ml"}]}
    config_path.write_text(yaml.safe_dump(config_data))
    config = load_config(config_path)
    service = build_inference_service(config, config.deploy.environments[0], Rollout(ARTIFACT))
    assert service["spec"]["predictor"]["model"]["modelFormat"] == {"name": "tensorflow"}
    assert_admitted(service)
