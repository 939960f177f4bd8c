"""The broken models really are broken in the way their names say (so gate tests mean something)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import _zoo
from mlpipex.runtime import read_table
from mlpipex.stats.metrics import roc_auc

HOLDOUT = read_table(_zoo.QUICKSTART / "data" / "holdout.csv")
NOT_FEATURES = ("diagnosis", "training_prediction", "training_score")
FEATURES = np.column_stack([v for k, v in HOLDOUT.items() if k not in NOT_FEATURES]).astype(np.float32)
POSITIVE = HOLDOUT["diagnosis"].astype(np.int64) == 1
TRAINING_SCORE = HOLDOUT["training_score"].astype(np.float64)


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def outputs(path: Path, features: np.ndarray = FEATURES, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    label, probabilities = session(path).run(["label", "probabilities"], {name: features})
    return np.asarray(label), np.asarray(probabilities)


def median_ms(path: Path, calls: int = 40) -> float:
    run = session(path).run
    feed = {"features": FEATURES[:1]}
    for _ in range(5):
        run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def assert_valid_probabilities(probabilities: np.ndarray) -> None:
    assert np.isfinite(probabilities).all()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_good_model_matches_training_scores() -> None:
    # The reference every defect below is measured against.
    label, probabilities = outputs(_zoo.MODEL)
    assert np.abs(probabilities[:, 1] - TRAINING_SCORE).max() < 1e-6
    assert (label == HOLDOUT["training_prediction"].astype(np.int64)).all()
    assert roc_auc(POSITIVE, probabilities[:, 1]) > 0.98


def test_quickstart_dir() -> None:
    assert (_zoo.quickstart_dir() / "mlpipex.yaml").is_file()
    assert _zoo.MODEL.is_relative_to(_zoo.quickstart_dir())


def test_wrong_signature_renamed_input(tmp_path: Path) -> None:
    path = _zoo.wrong_signature(tmp_path / "m.onnx")
    inputs = session(path).get_inputs()
    assert [(i.name, i.type, i.shape[1]) for i in inputs] == [("input", "tensor(float)", 30)]
    _, probabilities = outputs(path, name="input")  # it runs; only the name is wrong
    assert np.array_equal(probabilities, outputs(_zoo.MODEL)[1])


def test_wrong_signature_29_features(tmp_path: Path) -> None:
    path = _zoo.wrong_signature(tmp_path / "m.onnx", kind="width")
    inputs = session(path).get_inputs()
    assert [(i.name, i.type, i.shape[1]) for i in inputs] == [("features", "tensor(float)", 29)]
    _, probabilities = outputs(path, FEATURES[:, :29])
    assert_valid_probabilities(probabilities)
    with pytest.raises(Exception, match=r"(?i)dim|shape"):  # the declared 30 columns are refused
        outputs(path)


def test_wrong_signature_float64_input(tmp_path: Path) -> None:
    path = _zoo.wrong_signature(tmp_path / "m.onnx", kind="dtype")
    inputs = session(path).get_inputs()
    assert [(i.name, i.type, i.shape[1]) for i in inputs] == [("features", "tensor(double)", 30)]
    _, probabilities = outputs(path, FEATURES.astype(np.float64))
    assert np.array_equal(probabilities, outputs(_zoo.MODEL)[1])
    with pytest.raises(Exception, match=r"(?i)type"):  # float32, as declared, is refused
        outputs(path)


def test_wrong_signature_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown signature defect"):
        _zoo.wrong_signature(tmp_path / "m.onnx", kind="colour")  # type: ignore[arg-type]


def test_corrupt(tmp_path: Path) -> None:
    path = _zoo.corrupt(tmp_path / "m.onnx")
    assert path.stat().st_size > 0
    with pytest.raises(Exception):  # noqa: B017 - onnx raises protobuf's DecodeError
        onnx.load(str(path))
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime raises its own untyped errors
        session(path)


def test_nan_outputs(tmp_path: Path) -> None:
    path = _zoo.nan_outputs(tmp_path / "m.onnx")
    assert [i.name for i in session(path).get_inputs()] == ["features"]
    label, probabilities = outputs(path)
    assert probabilities.shape == (len(FEATURES), 2)
    assert np.isnan(probabilities).all()
    assert np.array_equal(label, outputs(_zoo.MODEL)[0])  # labels are fine: only the scores broke


def test_slow_is_slow_and_still_right(tmp_path: Path) -> None:
    path = _zoo.slow(tmp_path / "m.onnx")  # calibrated to about 10 ms here
    assert all(np.array_equal(a, b) for a, b in zip(outputs(path), outputs(_zoo.MODEL)))
    good, slow = median_ms(_zoo.MODEL), median_ms(path)
    assert slow > 2.0, f"slow model's median {slow:.3f} ms would not breach a 2 ms p50 SLA"
    assert slow > 20 * good, (slow, good)


def test_slow_with_a_fixed_chain(tmp_path: Path) -> None:
    path = _zoo.slow(tmp_path / "m.onnx", repeats=3)
    model = onnx.load(str(path))
    assert sum(n.op_type == "MatMul" for n in model.graph.node) == 3
    assert np.array_equal(outputs(path)[1], outputs(_zoo.MODEL)[1])


def test_regressed_is_clearly_worse_but_valid(tmp_path: Path) -> None:
    label, probabilities = outputs(_zoo.regressed(tmp_path / "m.onnx"))
    assert_valid_probabilities(probabilities)
    good_label, good_probabilities = outputs(_zoo.MODEL)
    good_auc, bad_auc = roc_auc(POSITIVE, good_probabilities[:, 1]), roc_auc(POSITIVE, probabilities[:, 1])
    assert bad_auc < good_auc - 0.03, (bad_auc, good_auc)
    assert bad_auc > 0.7  # worse, not random: a model someone could have trained
    truth = HOLDOUT["diagnosis"].astype(np.int64)
    assert (label == truth).mean() < (good_label == truth).mean() - 0.05


def test_skewed_differs_from_training_but_stays_sane(tmp_path: Path) -> None:
    _, probabilities = outputs(_zoo.skewed(tmp_path / "m.onnx"))
    assert_valid_probabilities(probabilities)
    diff = np.abs(probabilities[:, 1] - TRAINING_SCORE)
    assert diff.max() > 1e-3, diff.max()
    assert diff.max() < 0.2  # a subtle bug, not a broken model
    assert roc_auc(POSITIVE, probabilities[:, 1]) > 0.97
