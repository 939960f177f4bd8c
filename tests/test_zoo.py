"""The broken models really are broken in the way their names say (so gate tests mean something)."""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.metrics import roc_auc_score

import _zoo
from mlpipex.runtime import read_table

HOLDOUT = read_table(_zoo.QUICKSTART / "data" / "holdout.csv")
FEATURES = np.column_stack([v for k, v in HOLDOUT.items() if k not in
                            ("diagnosis", "training_prediction", "training_score")]).astype(np.float32)  # fmt: skip


def session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def probabilities(path, name: str = "features") -> np.ndarray:
    return session(path).run(["probabilities"], {name: FEATURES})[0]


def median_ms(path) -> float:
    run = session(path).run
    feed = {"features": FEATURES[:1]}
    for _ in range(5):
        run(None, feed)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        run(None, feed)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def test_good_model_matches_training_scores():
    diff = np.abs(probabilities(_zoo.MODEL)[:, 1] - HOLDOUT["training_score"])
    assert diff.max() < 1e-6


def test_wrong_signature(tmp_path):
    renamed = session(_zoo.wrong_signature(tmp_path / "a.onnx"))
    assert renamed.get_inputs()[0].name == "input"
    typed = session(_zoo.wrong_signature(tmp_path / "b.onnx", dtype=True))
    assert typed.get_inputs()[0].type == "tensor(double)"


def test_corrupt(tmp_path):
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime raises its own untyped errors
        session(_zoo.corrupt(tmp_path / "m.onnx"))


def test_nan_outputs(tmp_path):
    assert np.isnan(probabilities(_zoo.nan_outputs(tmp_path / "m.onnx"))).all()


def test_slow_is_slow_and_still_right(tmp_path):
    path = _zoo.slow(tmp_path / "m.onnx")
    assert np.allclose(probabilities(path), probabilities(_zoo.MODEL))
    assert median_ms(path) > 0.5 > median_ms(_zoo.MODEL) * 5


def test_regressed_is_worse(tmp_path):
    good = roc_auc_score(HOLDOUT["diagnosis"], probabilities(_zoo.MODEL)[:, 1])
    bad = roc_auc_score(HOLDOUT["diagnosis"], probabilities(_zoo.regressed(tmp_path / "m.onnx"))[:, 1])
    assert bad < good - 0.05


def test_skewed_differs_from_training_but_stays_sane(tmp_path):
    probs = probabilities(_zoo.skewed(tmp_path / "m.onnx"))
    diff = np.abs(probs[:, 1] - HOLDOUT["training_score"])
    assert diff.max() > 1e-3
    auc = roc_auc_score(HOLDOUT["diagnosis"], probs[:, 1])
    assert auc > 0.9
