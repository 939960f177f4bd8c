"""`mlpipex init` writes a config that `mlpipex validate` accepts and `mlpipex gate` runs, for models it never saw."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlpipex.cli import main


def project_from_quickstart(quickstart: Path) -> Path:
    """The quickstart's model and holdout, without its config (what a team has before adopting mlpipex)."""
    project = quickstart.parent / "churn-model"
    project.mkdir()
    shutil.copytree(quickstart / "models", project / "models")
    shutil.copytree(quickstart / "data", project / "data")
    return project


def test_init_then_validate_then_gate_on_the_quickstart_model(quickstart, monkeypatch, capsys):
    project = project_from_quickstart(quickstart)
    monkeypatch.chdir(project)
    assert main(["init", "--model", "models/model.onnx", "--holdout", "data/holdout.csv"]) == 0
    said = capsys.readouterr().out
    assert "label `diagnosis`" in said and "30 features" in said
    text = (project / "mlpipex.yaml").read_text()
    written = yaml.safe_load(text)
    assert written["model"]["name"] == "churn-model"  # `model.onnx` says nothing: the directory names it
    assert written["model"]["signature"] == {
        "inputs": [{"name": "features", "dtype": "float32", "shape": [None, 30]}],
        "outputs": [{"name": "label", "dtype": "int64", "shape": [None]},
                    {"name": "probabilities", "dtype": "float32", "shape": [None, 2]}]}  # fmt: skip
    assert written["model"]["task"] == "classification" and written["model"]["outputs"] == {"label": "label", "probabilities": "probabilities"}
    header = (project / "data" / "holdout.csv").read_text().splitlines()[0].split(",")
    assert written["data"]["label"] == "diagnosis" and written["data"]["features"] == header[:30]
    assert "# prediction_column: \"training_prediction\"" in text  # suggested, commented: a wrong guess must not fail a gate
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 5  # commented for a person to review
    assert main(["validate"]) == 0
    assert main(["gate", "--provider", "local", "--quiet"]) == 0
    report = (project / ".mlpipex" / "report" / "report.json").read_text()
    assert '"schema"' in report and '"smoke"' in report


def test_init_regression_with_one_input_per_column(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = X @ [3.0, -2.0, 0.5] + rng.normal(0, 0.1, 400)
    names = ["age", "income", "tenure"]
    model = Pipeline([("cols", ColumnTransformer([(n, "passthrough", [i]) for i, n in enumerate(names)])),
                      ("ridge", Ridge())]).fit(X, y)  # fmt: skip
    onnx_model = to_onnx(model, initial_types=[(n, FloatTensorType([None, 1])) for n in names], target_opset=17)
    (tmp_path / "spend.onnx").write_bytes(onnx_model.SerializeToString())
    rows = np.column_stack([y[300:], X[300:, ::-1]])  # the label first, the features in another order
    np.savetxt(tmp_path / "holdout.csv", rows, delimiter=",", header="target,tenure,income,age", comments="", fmt="%.17g")
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--model", "spend.onnx", "--holdout", "holdout.csv", "-o", "spend.yaml"]) == 0
    written = yaml.safe_load((tmp_path / "spend.yaml").read_text())
    assert written["model"]["name"] == "spend" and written["model"]["task"] == "regression"
    assert written["data"]["label"] == "target" and written["data"]["features"] == names  # model input order
    assert written["model"]["outputs"] == {"value": "variable"}
    assert main(["validate", "-c", "spend.yaml"]) == 0
    assert main(["gate", "-c", "spend.yaml", "--provider", "local", "--quiet"]) == 0


@pytest.mark.parametrize(("extra", "says"), [
    (["--label", "nope"], "--label `nope` is not a holdout column"),
    (["--features", "mean_radius,nope"], "--features names columns the holdout lacks: nope"),
    (["--features", "mean_radius,mean_texture"], "input `features` takes 30 features; the holdout has 2"),
])  # fmt: skip
def test_init_refuses_what_it_cannot_tell_with_a_fix(quickstart, monkeypatch, capsys, extra, says):
    project = project_from_quickstart(quickstart)
    monkeypatch.chdir(project)
    assert main(["init", "--model", "models/model.onnx", "--holdout", "data/holdout.csv", *extra]) == 2
    err = capsys.readouterr().err
    assert says in err and "fix:" in err and "Traceback" not in err
    assert not (project / "mlpipex.yaml").exists()


def test_init_never_overwrites_without_force(quickstart, monkeypatch, capsys):
    monkeypatch.chdir(quickstart)
    before = (quickstart / "mlpipex.yaml").read_text()
    assert main(["init", "--model", "models/model.onnx", "--holdout", "data/holdout.csv"]) == 2
    assert "mlpipex.yaml exists" in capsys.readouterr().err and (quickstart / "mlpipex.yaml").read_text() == before
    assert main(["init", "--model", "models/missing.onnx", "--holdout", "data/holdout.csv", "-o", "x.yaml"]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert main(["init", "--model", "models/model.onnx", "--holdout", "data/holdout.csv", "--force", "--name", "Breast Cancer!"]) == 0
    assert yaml.safe_load((quickstart / "mlpipex.yaml").read_text())["model"]["name"] == "breast-cancer"


@pytest.mark.parametrize(("values", "outputs", "task"), [
    (np.array([0.5, 1.25, 3.0] * 10), [("variable", "float32")], "regression"),
    (np.array([0.0, 1.0] * 15), [("probabilities", "float32")], "classification"),  # integral and few: classes
    (np.array([f"plan-{i}" for i in range(30)]), [("probabilities", "float32")], "classification"),  # words: classes
    (np.arange(30.0), [("variable", "float32")], "regression"),  # integral but many: a count
    (np.arange(30.0), [("label", "int64"), ("probabilities", "float32")], "classification"),  # the model says labels
])  # fmt: skip
def test_the_task_follows_the_outputs_and_the_label(values, outputs, task):
    from mlpipex.commands.init import Tensor, infer

    inputs = [Tensor("features", "float32", (None, 2))]
    outs = [Tensor(name, dtype, (None,)) for name, dtype in outputs]
    label, features, found, why = infer(inputs=inputs, outputs=outs, columns=["a", "b", "y"], label_values=lambda c: values,
                                        label=None, features=None, task=None)  # fmt: skip
    assert (label, features, found) == ("y", ["a", "b"], task) and "named `y`" in why
