"""Small projects in scikit-learn, XGBoost and LightGBM, trained in the test.

``write_project(root, fmt)`` trains a good model (and, on ``regressed=True``, a model
trained on shuffled labels as the candidate), writes it as its framework saves it,
a holdout that carries the good model's own predictions (for the skew gate), and
an mlpipex.yaml with every gate but the unit tests on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer

FORMATS = ("sklearn", "xgboost", "lightgbm")
FILE = {"sklearn": "model.joblib", "xgboost": "model.json", "lightgbm": "model.txt"}
FEATURES = [f"f{i}" for i in range(30)]


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(y))
    X, y = X[order], y[order]
    return X[:400], y[:400], X[400:], y[400:]


def train(fmt: str, X: np.ndarray, y: np.ndarray, *, feature_names: list[str] | None = None) -> Any:
    if fmt == "sklearn":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    if fmt == "xgboost":
        import xgboost as xgb

        matrix = xgb.DMatrix(X, label=y, feature_names=feature_names)
        return xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, matrix, num_boost_round=30)
    import lightgbm as lgb

    dataset = lgb.Dataset(X, label=y, feature_name=feature_names or "auto")
    return lgb.train({"objective": "binary", "num_leaves": 7, "verbosity": -1, "num_threads": 1}, dataset,
                     num_boost_round=30)  # fmt: skip


def save(fmt: str, model: Any, path: Path) -> Path:
    if fmt == "sklearn":
        import joblib

        joblib.dump(model, path)
    else:
        model.save_model(str(path))
    return path


def framework_predict(fmt: str, model: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The framework's own answer: (label, probability of class 1)."""
    if fmt == "sklearn":
        return model.predict(X), model.predict_proba(X)[:, 1]
    if fmt == "xgboost":
        import xgboost as xgb

        p = model.predict(xgb.DMatrix(X, feature_names=model.feature_names))
    else:
        p = model.predict(X)
    return (p > 0.5).astype(int), p


def write_project(root: Path, fmt: str, *, regressed: bool = False, sla_ms: float = 100.0, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    X, y, hold_X, hold_y = data()
    good = train(fmt, X, y)
    baseline = save(fmt, good, root / f"baseline{Path(FILE[fmt]).suffix}")
    candidate = good
    if regressed:
        candidate = train(fmt, X, np.random.default_rng(3).permutation(y))
    save(fmt, candidate, root / FILE[fmt])
    labels, scores = framework_predict(fmt, good, hold_X)
    rows = np.column_stack([hold_X, hold_y, labels, scores])
    header = ",".join([*FEATURES, "diagnosis", "trained_label", "trained_score"])
    np.savetxt(root / "holdout.csv", rows, delimiter=",", header=header, comments="", fmt="%.17g")
    (root / "mlpipex.yaml").write_text(f"""\
apiVersion: mlpipex/v1
model: {{name: cancer-{fmt}, version: "1.0.0", path: {FILE[fmt]}, format: {fmt}, task: classification}}
data: {{holdout: holdout.csv, label: diagnosis, prediction_column: trained_label, score_column: trained_score,
        positive_label: 1}}
gates:
  unit: false
  smoke: {{thresholds: {{accuracy: ">= 0.9", auc: ">= 0.95"}}}}
  latency: {{sla: [{{batch_size: 1, p99: {sla_ms}}}], iterations: 60, warmup: 5}}
  compare:
    metrics: {{auc: {{max_regression: 0.01}}, accuracy: {{max_regression: "2%"}}}}
    latency: {{batch_size: 1, iterations: 60, max_ratio: 5}}
  skew: {{max_abs_diff: 1.0e-6, max_label_mismatch_rate: 0.0}}
baseline: {{path: {baseline.name}}}
{extra}""")
    return root / "mlpipex.yaml"
