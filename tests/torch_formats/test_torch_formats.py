"""Issue 21, item 3: TorchScript and torch.export models through the gates, the package and serving.

The modules are the quickstart's own ONNX graphs (Scaler → LinearClassifier) rebuilt
in torch from the graphs' weights, so a torch model's answers must equal the ONNX
model's: an ONNX candidate against a TorchScript baseline gives the compare gate's
verdict and metrics of the ONNX baseline it was rebuilt from.
"""

from __future__ import annotations

import json
import tarfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml

from _zoo import regressed
from mlpipex import load_config, run_gates
from mlpipex.cli import main
from mlpipex.gates import Status
from mlpipex.oci import Layout
from mlpipex.runtime import load_model

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.15 deprecates torch.jit.script

SIGNATURE = {"inputs": [{"name": "features", "dtype": "float32", "shape": ["batch", 30]}],
             "outputs": [{"name": "probabilities", "dtype": "float32", "shape": ["batch", 2]}]}  # fmt: skip


class LinearClassifier(torch.nn.Module):
    """ONNX-ML's Scaler then LinearClassifier (post_transform LOGISTIC), in torch."""

    def __init__(self, offset, scale, coefficients, intercepts) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("weight", torch.tensor(coefficients, dtype=torch.float32).reshape(len(intercepts), -1))
        self.register_buffer("bias", torch.tensor(intercepts, dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scores = ((features - self.offset) * self.scale) @ self.weight.T + self.bias
        return torch.sigmoid(scores)


def from_onnx(path: Path) -> LinearClassifier:
    attrs = {}
    for node in onnx.load(str(path)).graph.node:
        for a in node.attribute:
            attrs[a.name] = onnx.helper.get_attribute_value(a)
    return LinearClassifier(attrs["offset"], attrs["scale"], attrs["coefficients"], attrs["intercepts"]).eval()


def torchscript(module: torch.nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def exported(module: torch.nn.Module, path: Path) -> Path:
    program = torch.export.export(module, (torch.zeros(4, 30),), dynamic_shapes={"features": {0: torch.export.Dim("batch")}})
    torch.export.save(program, str(path))
    return path


def _edit(config: Path, **changes) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(config.read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        data.setdefault(section, {})[key] = value
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def test_an_onnx_candidate_against_a_torchscript_baseline(quickstart):
    """The compare gate across formats: the same verdict and metrics as against the ONNX baseline it was rebuilt from."""
    models = quickstart / "models"
    onnx_report = run_gates(load_config(quickstart / "mlpipex.yaml"), ["compare"]).gates[0]
    torchscript(from_onnx(models / "baseline.onnx"), models / "baseline.pt")
    _edit(quickstart / "mlpipex.yaml", baseline__path="models/baseline.pt", baseline__format="torchscript")
    report = run_gates(load_config(quickstart / "mlpipex.yaml"), ["compare"])
    gate = report.gates[0]
    assert gate.status is onnx_report.status is Status.PASS, gate.message
    for metric, value in onnx_report.details["baseline_metrics"].items():
        assert gate.details["baseline_metrics"][metric] == pytest.approx(value, abs=1e-6), metric
    assert any(m.name == "latency_ratio" for m in gate.measurements)  # timed A B A B across runtimes
    assert report.baseline is not None and report.baseline.format == "torchscript"
    assert report.environment["torch"] == torch.__version__

    regressed(models / "model.onnx")  # a clearly worse ONNX candidate: the torch baseline catches it
    assert run_gates(load_config(quickstart / "mlpipex.yaml"), ["compare"]).gates[0].status is Status.FAIL


@pytest.mark.parametrize("fmt", ["torchscript", "pt2"])
def test_the_gates_pass_on_a_torch_model_and_fail_on_a_regressed_one(quickstart, fmt):
    models = quickstart / "models"
    good = from_onnx(models / "model.onnx")
    save = torchscript if fmt == "torchscript" else exported
    save(good, models / f"model.{'pt' if fmt == 'torchscript' else 'pt2'}")
    config = quickstart / "mlpipex.yaml"
    _edit(config, model__path=f"models/model.{'pt' if fmt == 'torchscript' else 'pt2'}", model__format=fmt,
          model__signature=SIGNATURE, model__outputs={"probabilities": "probabilities"})  # fmt: skip
    gates = ["schema", "smoke", "latency", "skew"]
    report = run_gates(load_config(config), gates)
    assert {g.gate: g.status for g in report.gates} == dict.fromkeys(gates, Status.PASS), [g.message for g in report.gates]
    schema = report.gates[0]
    if fmt == "pt2":  # the program records dtypes and shapes (the batch dimension is dynamic)
        assert schema.details["inputs"] == [{"name": "features", "dtype": "float32", "shape": ["?", 30]}]
        assert schema.details["outputs"] == [{"name": "probabilities", "dtype": "float32", "shape": ["?", 2]}]

    worse = from_onnx(models / "model.onnx")
    with torch.no_grad():
        worse.weight.mul_(-1)  # every score flipped: the ranking is inverted
    save(worse, models / f"model.{'pt' if fmt == 'torchscript' else 'pt2'}")
    statuses = {g.gate: g.status for g in run_gates(load_config(config), ["smoke", "skew"]).gates}
    assert statuses == {"smoke": Status.FAIL, "skew": Status.FAIL}


def test_the_torch_answers_are_the_onnx_graphs(quickstart, tmp_path):
    config = load_config(quickstart / "mlpipex.yaml")
    from mlpipex.runtime import load_holdout

    holdout = load_holdout(config)
    onnx_model = load_model(config.resolve(config.model.path))
    expected = onnx_model.predict(holdout.features, holdout.feature_names, task="classification", batch_size=64)
    path = exported(from_onnx(config.resolve(config.model.path)), tmp_path / "model.pt2")
    program = load_model(path, "pt2", trusted_root=tmp_path)
    got = program.predict(holdout.features, holdout.feature_names, task="classification", batch_size=64)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-6)
    assert np.array_equal(got.labels, expected.labels)


def test_a_torchscript_package_is_a_triton_pytorch_repository(quickstart, monkeypatch):
    models = quickstart / "models"
    torchscript(from_onnx(models / "model.onnx"), models / "model.pt")
    config = quickstart / "mlpipex.yaml"
    _edit(config, model__path="models/model.pt", model__format="torchscript", model__signature=SIGNATURE,
          model__outputs={"probabilities": "probabilities"})  # fmt: skip
    monkeypatch.chdir(quickstart)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
    assert main(["package"]) == 0
    layout = Layout(quickstart / ".mlpipex" / "oci")
    manifest = layout.read_json(layout.resolve("breast-cancer:1.1.0").digest)
    with tarfile.open(layout.blob_path(manifest["layers"][0]["digest"])) as tar:
        names = tar.getnames()
        pbtxt = tar.extractfile("models/breast-cancer/config.pbtxt").read().decode()  # type: ignore[union-attr]
        blob = json.loads(tar.extractfile("models/mlpipex-config.json").read())  # type: ignore[union-attr]
    assert "models/breast-cancer/1/model.pt" in names
    assert 'backend: "pytorch"' in pbtxt
    assert '{ name: "INPUT__0" data_type: TYPE_FP32 dims: [ -1, 30 ] }' in pbtxt
    assert '{ name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ -1, 2 ] }' in pbtxt
    assert blob["format"] == "torchscript" and blob["environment"]["torch"] == torch.__version__


def test_a_torchscript_package_without_a_signature_is_refused(quickstart, monkeypatch, capsys):
    models = quickstart / "models"
    torchscript(from_onnx(models / "model.onnx"), models / "model.pt")
    data = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    data["model"].pop("signature")
    data["model"].update(path="models/model.pt", format="torchscript", outputs={"probabilities": "output-0"})
    (quickstart / "mlpipex.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(quickstart)
    assert main(["package", "--allow-ungated"]) == 2
    assert "Triton's PyTorch backend reads them from config.pbtxt" in capsys.readouterr().err
