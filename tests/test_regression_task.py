"""A regression model, fed one input per feature column, through smoke, compare and skew."""

from __future__ import annotations

import numpy as np
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from mlpipex import load_config, run_gates
from mlpipex.gates import Status


@pytest.fixture
def regression_project(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    names = [f"f{i}" for i in range(X.shape[1])]
    # One ONNX input per column, as models exported from data frames often have.
    columns = ColumnTransformer([(n, "passthrough", [i]) for i, n in enumerate(names)])
    model = Pipeline([("cols", columns), ("ridge", Ridge(alpha=0.1))]).fit(X[:300], y[:300])
    types = [(n, FloatTensorType([None, 1])) for n in names]
    (tmp_path / "model.onnx").write_bytes(to_onnx(model, initial_types=types, target_opset=17).SerializeToString())
    weak = Pipeline([("cols", columns), ("ridge", Ridge(alpha=50.0))]).fit(X[:300], y[:300])
    (tmp_path / "baseline.onnx").write_bytes(to_onnx(weak, initial_types=types, target_opset=17).SerializeToString())
    hold_X, hold_y = X[300:], y[300:]
    rows = np.column_stack([hold_X, hold_y, model.predict(hold_X)])
    header = ",".join([*names, "target", "trained"])
    np.savetxt(tmp_path / "holdout.csv", rows, delimiter=",", header=header, comments="", fmt="%.17g")
    (tmp_path / "mlpipex.yaml").write_text("""\
apiVersion: mlpipex/v1
model: {name: diabetes, version: "1", path: model.onnx, task: regression}
data: {holdout: holdout.csv, label: target, score_column: trained}
gates:
  unit: false
  smoke: {thresholds: {r2: ">= 0.3", rmse: "<= 70"}}
  latency: {sla: [{batch_size: 1, p99: 50}], iterations: 50}
  compare: {metrics: {rmse: {max_regression: "5%"}}}
  skew: {max_abs_diff: 1.0e-3}
baseline: {path: baseline.onnx}
""")
    return tmp_path


def test_regression_gates(regression_project):
    report = run_gates(load_config(regression_project / "mlpipex.yaml"))
    statuses = {g.gate: g.status for g in report.gates}
    assert statuses == dict.fromkeys(["schema", "smoke", "latency", "compare", "skew"], Status.PASS), [
        (g.gate, g.message) for g in report.gates
    ]
    metrics = report.gate("smoke").details["metrics"]  # type: ignore[union-attr]
    assert set(metrics) == {"mae", "rmse", "r2"}
    compare = report.gate("compare")
    rmse = next(m for m in compare.measurements if m.name == "rmse")  # type: ignore[union-attr]
    assert rmse.value < rmse.baseline  # the better model has the lower error


def test_classification_metric_on_regression_task_is_a_config_error(regression_project):
    from mlpipex.errors import ConfigError

    path = regression_project / "mlpipex.yaml"
    path.write_text(path.read_text().replace('r2: ">= 0.3"', 'auc: ">= 0.3"'))
    with pytest.raises(ConfigError, match="`auc` is not a regression metric"):
        load_config(path)
