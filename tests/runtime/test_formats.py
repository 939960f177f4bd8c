"""Issue 21: every gate through the runtime interface, for scikit-learn, XGBoost and LightGBM models.

Each model is trained in the test with the real framework; the gates pass on it and
fail on a regressed one (trained on shuffled labels), and a missing framework is an
exit-2 error naming the pip install.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from runtime.tabular_projects import (
    FEATURES,
    FILE,
    data,
    framework_predict,
    save,
    train,
    write_project,
)

from mlpipex import load_config, run_gates
from mlpipex.cli import main
from mlpipex.errors import InputError
from mlpipex.gates import Status, input_problems
from mlpipex.runtime import FORMATS, OnnxModel, load_model, read_signature

GATES = ["schema", "smoke", "latency", "compare", "skew"]
pytest.importorskip("xgboost")
pytest.importorskip("lightgbm")


@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_every_gate_passes_on_a_good_model(tmp_path, fmt):
    report = run_gates(load_config(write_project(tmp_path, fmt)), GATES)
    statuses = {g.gate: (g.status, g.message) for g in report.gates}
    assert all(status is Status.PASS for status, _ in statuses.values()), statuses
    schema = report.gates[0]
    assert schema.message.startswith(f"valid {FORMATS[fmt].title}, signature as declared")
    assert schema.details["inputs"] == [{"name": "input-0", "dtype": "float32" if fmt == "xgboost" else "float64",
                                         "shape": ["?", 30]}]  # fmt: skip
    assert report.model.format == fmt
    assert report.environment[FORMATS[fmt].framework]  # the framework's version explains the numbers


@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_the_gates_fail_on_a_regressed_model(tmp_path, fmt):
    """Shuffled-label training: smoke and compare fail, skew sees other scores; a tight SLA fails latency."""
    report = run_gates(load_config(write_project(tmp_path, fmt, regressed=True, sla_ms=1e-6)), GATES)
    statuses = {g.gate: g.status for g in report.gates}
    assert statuses == {"schema": Status.PASS, "smoke": Status.FAIL, "latency": Status.FAIL,
                        "compare": Status.FAIL, "skew": Status.FAIL}, [g.message for g in report.gates]  # fmt: skip


@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_a_truncated_file_fails_the_schema_gate(tmp_path, fmt):
    config = write_project(tmp_path, fmt)
    model = tmp_path / FILE[fmt]
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    gate = run_gates(load_config(config), ["schema"]).gates[0]
    assert gate.status is Status.FAIL
    assert gate.message.startswith(f"{'joblib' if fmt == 'sklearn' else fmt} cannot load the model")
    assert gate.details["checks"][0]["name"] == f"{FORMATS[fmt].framework} load"


@pytest.mark.parametrize("fmt", ["sklearn", "xgboost", "lightgbm"])
def test_the_answers_are_the_frameworks_own(tmp_path, fmt):
    X, y, hold_X, _ = data()
    native = train(fmt, X, y)
    path = save(fmt, native, tmp_path / FILE[fmt])
    model = load_model(path, fmt, trusted_root=tmp_path)
    predictions = model.predict(hold_X, FEATURES, task="classification", batch_size=50)
    labels, scores = framework_predict(fmt, native, hold_X)
    assert np.array_equal(predictions.labels, labels)
    # batches of 50 against one call of 169 rows: BLAS may sum in another order (ulps, no more)
    np.testing.assert_allclose(predictions.probabilities[:, 1], scores, rtol=1e-12, atol=1e-15)
    assert predictions.classes == (0, 1)


def test_a_declared_signature_is_checked_against_the_format(tmp_path):
    config = write_project(tmp_path, "xgboost", extra="")
    text = config.read_text().replace("task: classification}", """task: classification,
        signature: {inputs: [{name: input-0, dtype: float64, shape: [batch, 30]}],
                    outputs: [{name: label, dtype: int64}, {name: probabilities, dtype: float32}]}}""")
    config.write_text(text)
    gate = run_gates(load_config(config), ["schema"]).gates[0]
    assert gate.status is Status.FAIL
    assert "inputs `input-0` dtype" in next(c["name"] for c in gate.details["checks"] if not c["ok"])
    assert "declared float64, the graph has float32" in gate.message


def test_fitted_feature_names_must_match_the_holdout_order(tmp_path):
    """XGBoost and LightGBM record the feature names they were fitted on: a swapped holdout column is caught."""
    config = write_project(tmp_path, "lightgbm")
    X, y, _, _ = data()
    save("lightgbm", train("lightgbm", X, y, feature_names=FEATURES[1::-1] + FEATURES[2:]), tmp_path / "model.txt")
    gate = run_gates(load_config(config), ["schema"]).gates[0]
    assert gate.status is Status.FAIL
    assert "the model was fitted on the features ['f1', 'f0', 'f2'" in gate.message


def test_a_missing_framework_is_exit_2_naming_the_pip_install(tmp_path, monkeypatch, capsys):
    config = write_project(tmp_path, "lightgbm")
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if `mlpipex[lightgbm]` was not installed
    code = main(["gate", "-c", str(config), "--only", "schema", "--report-dir", str(tmp_path / "out")])
    assert code == 2
    out = capsys.readouterr()
    assert "pip install 'mlpipex[lightgbm]'" in out.out + out.err
    assert "Traceback" not in out.out + out.err
    assert main(["validate", "-c", str(config)]) == 2
    assert "pip install 'mlpipex[lightgbm]'" in capsys.readouterr().err


class _Marker:
    """A pickle that writes a file when loaded: the code a hostile model.joblib would run."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.target, "pwned"))


def test_a_pickle_outside_the_repository_is_never_loaded(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    config = write_project(repo, "sklearn")
    outside.mkdir()
    marker = tmp_path / "ran"
    (outside / "model.joblib").write_bytes(pickle.dumps(_Marker(marker)))
    (repo / "linked.joblib").symlink_to(outside / "model.joblib")  # a symlink out is outside too
    for path in ("../elsewhere/model.joblib", "linked.joblib"):
        config.write_text(config.read_text().replace(f"path: {FILE['sklearn']}", f"path: {path}"))
        problems = input_problems(load_config(config))
        assert any("outside" in p.message and "runs its code" in p.message for p in problems), problems
        gate = run_gates(load_config(config), ["schema"]).gates[0]
        assert gate.status is Status.FAIL and "loads it only from the repository" in gate.message
        config.write_text(config.read_text().replace(f"path: {path}", f"path: {FILE['sklearn']}"))
    assert not marker.exists()
    with pytest.raises(InputError, match="without a trusted root"):
        load_model(outside / "model.joblib", "sklearn")
    assert not marker.exists()


def test_read_signature_is_public_and_format_aware(tmp_path):
    X, y, _, _ = data()
    path = save("xgboost", train("xgboost", X, y, feature_names=FEATURES), tmp_path / "model.json")
    signature = read_signature(path, "xgboost")
    assert [t.name for t in signature.inputs] == ["input-0"] and signature.inputs[0].shape == (None, 30)
    assert [t.name for t in signature.outputs] == ["label", "probabilities"]
    assert signature.feature_names == tuple(FEATURES)
    assert signature.to_config()["outputs"][1] == {"name": "probabilities", "dtype": "float32", "shape": [None, 2]}


def test_onnx_stays_the_default_and_runs_in_onnxruntime(quickstart):
    config = load_config(quickstart / "mlpipex.yaml")
    model = load_model(config.resolve(config.model.path))
    assert isinstance(model, OnnxModel) and model.format == "onnx" and model.device == "cpu"


def test_the_latency_gate_says_when_it_measured_on_the_cpu(quickstart):
    """A model deployed on a GPU is timed on one where the runner has it; here it has none, and the report says so."""
    config = quickstart / "mlpipex.yaml"
    config.write_text(config.read_text() + "\ndeploy:\n  gpu: {count: 1}\n")
    gate = run_gates(load_config(config), ["latency"]).gates[0]
    assert gate.details["device"] == "cpu"
    if "CUDAExecutionProvider" in gate.details["providers"]:
        pytest.skip("this runner has a GPU: the gate measured on it")
    assert gate.details["skipped_providers"] == ["CUDAExecutionProvider"]
    assert "measured on the CPU: the model serves on a GPU (deploy.gpu)" in gate.message


def test_without_a_gpu_deployment_the_latency_gate_stays_on_the_cpu_silently(quickstart):
    gate = run_gates(load_config(quickstart / "mlpipex.yaml"), ["latency"]).gates[0]
    assert gate.details["providers"] == ["CPUExecutionProvider"] and gate.details["skipped_providers"] == []
    assert "measured on" not in gate.message


@pytest.mark.skipif(os.environ.get("MLPIPEX_GPU") != "1", reason="needs a GPU runner (MLPIPEX_GPU=1)")
def test_on_a_gpu_runner_the_latency_gate_measures_on_the_gpu(quickstart):  # pragma: no cover - GPU runners only
    config = quickstart / "mlpipex.yaml"
    config.write_text(config.read_text() + "\ndeploy:\n  gpu: {count: 1}\n")
    gate = run_gates(load_config(config), ["latency"]).gates[0]
    assert gate.details["device"] == "cuda" and "(measured on cuda)" in gate.message
