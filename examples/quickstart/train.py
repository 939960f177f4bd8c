"""Regenerate the quickstart example: both models, the holdout and the training sample.

    pip install 'mlpipex[examples]'      # scikit-learn and skl2onnx
    python examples/quickstart/train.py [--out DIR]

Deterministic: every file it writes is byte-identical on a re-run with the same
library versions. The data is scikit-learn's bundled breast-cancer set (569 rows,
30 continuous features; target 0 malignant, 1 benign), so nothing is downloaded.

- models/model.onnx      the candidate, version 1.1.0: StandardScaler + LogisticRegression(C=0.5)
- models/baseline.onnx   the model "now deployed", version 1.0.0: same signature, but trained
                         on the first 60 training rows with a strong penalty, so clearly worse
- data/holdout.csv       the held-out 30%: the 30 features, the true label `diagnosis`, and the
                         scikit-learn pipeline's own `training_prediction` and `training_score`
                         (probability of class 1, written losslessly) for the skew gate
- data/training.csv      the training rows (the reference profile is built from them)

Both models take one input `features` (float32 [batch, 30]) and give `label`
(int64 [batch]) and `probabilities` (float32 [batch, 2]).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
SEED = 20261128
HOLDOUT_SHARE = 0.3
BASELINE_ROWS = 60
OPSET = {"": 17, "ai.onnx.ml": 3}  # skl2onnx lowers ai.onnx.ml to the oldest version it needs
LABEL = "diagnosis"


def snake(name: str) -> str:
    """'mean concave points' → 'mean_concave_points'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def pipeline(c: float) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=c, max_iter=1000))])


def export(model: Pipeline, n_features: int, version: str) -> onnx.ModelProto:
    """The pipeline as ONNX: input `features`, outputs `label` and `probabilities`."""
    clf = model.steps[-1][1]
    proto = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        target_opset=OPSET,
        options={id(clf): {"zipmap": False}},  # a plain [batch, 2] tensor, not a list of maps
    )
    graph = proto.graph
    if len(graph.output) != 2:
        raise RuntimeError(f"expected 2 outputs from skl2onnx, got {[o.name for o in graph.output]}")
    renames = {graph.output[0].name: "label", graph.output[1].name: "probabilities"}
    for output in graph.output:
        output.name = renames[output.name]
    for node in graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    # One entry per domain (some skl2onnx versions repeat the default domain).
    opsets: dict[str, int] = {}
    for entry in proto.opset_import:
        opsets[entry.domain] = max(entry.version, opsets.get(entry.domain, 0))
    del proto.opset_import[:]
    proto.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in sorted(opsets.items()))
    # Fixed provenance, so the bytes depend on the weights only, not on the exporter's version.
    graph.name = "breast_cancer"
    graph.doc_string = ""
    proto.producer_name = "mlpipex-quickstart"
    proto.producer_version = version
    proto.domain = "dev.mlpipex.examples"
    proto.doc_string = f"breast-cancer classifier {version}: StandardScaler + LogisticRegression"
    major, minor, patch = (int(p) for p in version.split("."))
    proto.model_version = major * 10_000 + minor * 100 + patch
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {"version": version})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def onnx_probabilities(proto: onnx.ModelProto, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], {"features": X.astype(np.float32)})
    return np.asarray(label), np.asarray(probabilities)


def cell(value: object) -> object:
    # repr() of a float is the shortest text that reads back to the same float: lossless.
    return repr(float(value)) if isinstance(value, (float, np.floating)) else value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([cell(v) for v in row] for row in rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where models/ and data/ go (default: next to this file)")
    out: Path = parser.parse_args(argv).out

    data = load_breast_cancer()
    names = [snake(n) for n in data.feature_names]
    X, y = data.data, data.target  # target: 0 malignant, 1 benign
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED
    )

    candidate = pipeline(c=0.5).fit(X_train, y_train)
    # The deployed model dates from when only the first rows were labelled, and it was
    # regularised hard: the same signature, clearly worse on the holdout.
    baseline = pipeline(c=0.02).fit(X_train[:BASELINE_ROWS], y_train[:BASELINE_ROWS])

    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    protos = {
        "candidate 1.1.0": (candidate, export(candidate, X.shape[1], "1.1.0"), "model.onnx"),
        "baseline 1.0.0": (baseline, export(baseline, X.shape[1], "1.0.0"), "baseline.onnx"),
    }
    for _, proto, filename in protos.values():
        (out / "models" / filename).write_bytes(proto.SerializeToString())

    score = candidate.predict_proba(X_hold)[:, 1]
    prediction = candidate.predict(X_hold)
    write_csv(
        out / "data" / "holdout.csv",
        [*names, LABEL, "training_prediction", "training_score"],
        ([*row, int(t), int(p), float(s)] for row, t, p, s in zip(X_hold, y_hold, prediction, score)),
    )
    write_csv(out / "data" / "training.csv", [*names, LABEL],
              ([*row, int(t)] for row, t in zip(X_train, y_train)))  # fmt: skip

    for title, (model, proto, _) in protos.items():
        labels, proba = onnx_probabilities(proto, X_hold)
        sk_proba = model.predict_proba(X_hold)
        diff = float(np.abs(proba.astype(np.float64) - sk_proba).max())
        mismatch = int((labels != model.predict(X_hold)).sum())
        if diff > 1e-5 or mismatch:
            raise SystemExit(f"{title}: ONNX differs from scikit-learn ({diff:.2e}, {mismatch} labels)")
        print(f"{title}: accuracy {accuracy_score(y_hold, labels):.4f}, "
              f"auc {roc_auc_score(y_hold, proba[:, 1]):.4f}, "
              f"log loss {log_loss(y_hold, proba):.4f}  (ONNX vs scikit-learn: max |diff| {diff:.1e})")  # fmt: skip
    print(f"wrote {len(X_train)} training rows, {len(X_hold)} holdout rows to {out}")


if __name__ == "__main__":
    main()
