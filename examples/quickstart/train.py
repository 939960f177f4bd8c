"""Regenerate the quickstart example: models, holdout, training sample.

    pip install 'mlpipex[examples]'      # scikit-learn and skl2onnx
    python examples/quickstart/train.py [--out DIR]

Deterministic: every file it writes is byte-identical on a re-run with the same
library versions. The data is scikit-learn's bundled breast-cancer set (569 rows,
30 continuous features), so nothing is downloaded.

- models/model.onnx      the candidate, version 1.1.0: StandardScaler + LogisticRegression
- models/baseline.onnx   the model "now deployed", version 1.0.0: same signature, more
                         regularised and trained on fewer rows, so a bit worse
- data/holdout.csv       held-out rows: features, the true label `diagnosis`, and the
                         training pipeline's own prediction and score (for the skew gate)
- data/training.csv      the training rows (the reference profile is built from them)
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
SEED = 20261128
OPSET = {"": 17, "ai.onnx.ml": 3}


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def export(pipeline: Pipeline, n_features: int, version: str, path: Path) -> None:
    sample = np.zeros((1, n_features), dtype=np.float32)
    clf = pipeline.steps[-1][1]
    model = to_onnx(pipeline, sample, target_opset=OPSET, options={id(clf): {"zipmap": False}})
    graph = model.graph
    graph.input[0].name = "features"
    for node in graph.node:
        node.input[:] = ["features" if i == "X" else i for i in node.input]
    renames = {graph.output[0].name: "label", graph.output[1].name: "probabilities"}
    for output in graph.output:
        output.name = renames[output.name]
    for node in graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
    graph.name = "breast_cancer"
    model.producer_name = "mlpipex-quickstart"
    model.producer_version = version
    model.doc_string = f"breast-cancer classifier {version}: StandardScaler + LogisticRegression"
    model.model_version = int(version.replace(".", ""))
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())


def write_csv(path: Path, header: list[str], rows: np.ndarray | list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where models/ and data/ go (default: here)")
    out = parser.parse_args().out
    data = load_breast_cancer()
    names = [snake(n) for n in data.feature_names]
    X, y = data.data, data.target  # target: 0 malignant, 1 benign
    X_train, X_hold, y_train, y_hold = train_test_split(X, y, test_size=0.3, stratify=y, random_state=SEED)

    candidate = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5, max_iter=1000))])
    candidate.fit(X_train, y_train)
    # The baseline saw a quarter of the rows and a much stronger penalty.
    baseline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.003, max_iter=1000))])
    baseline.fit(X_train[: len(X_train) // 4], y_train[: len(y_train) // 4])

    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    export(candidate, X.shape[1], "1.1.0", out / "models" / "model.onnx")
    export(baseline, X.shape[1], "1.0.0", out / "models" / "baseline.onnx")

    score = candidate.predict_proba(X_hold)[:, 1]
    prediction = candidate.predict(X_hold)
    hold_rows = [[*features, int(label), int(pred), float(s)]
                 for features, label, pred, s in zip(X_hold, y_hold, prediction, score)]  # fmt: skip
    write_csv(out / "data" / "holdout.csv",
              [*names, "diagnosis", "training_prediction", "training_score"], hold_rows)  # fmt: skip
    write_csv(out / "data" / "training.csv", [*names, "diagnosis"],
              [[*features, int(label)] for features, label in zip(X_train, y_train)])  # fmt: skip

    for label, model in (("candidate 1.1.0", candidate), ("baseline 1.0.0", baseline)):
        proba = model.predict_proba(X_hold)[:, 1]
        print(f"{label}: accuracy {accuracy_score(y_hold, model.predict(X_hold)):.4f}, "
              f"auc {roc_auc_score(y_hold, proba):.4f}")  # fmt: skip
    print(f"wrote {len(X_train)} training rows, {len(X_hold)} holdout rows")


if __name__ == "__main__":
    main()
