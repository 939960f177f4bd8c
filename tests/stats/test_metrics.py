"""Metrics against scikit-learn (the reference) and hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from mlpipex.stats import classification_metrics, regression_metrics, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_binary_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    p = np.round(p, 2)  # plenty of ties in the scores
    proba = np.column_stack([1 - p, p])
    pred = (p > 0.5).astype(int)
    got = classification_metrics(y, pred, proba, classes=[0, 1])
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred), abs=1e-12)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, p), abs=1e-9)
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba), abs=1e-9)


def test_positive_label_choice():
    y = np.array([0, 0, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 0])
    got = classification_metrics(y, pred, classes=[0, 1], positive_label=0)
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, pos_label=0))
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred, pos_label=0))


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 500)
    proba = rng.dirichlet(np.ones(4), 500)
    proba[np.arange(500), y] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    got = classification_metrics(y, pred, proba, classes=[0, 1, 2, 3])
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, average="macro"), abs=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred, average="macro"), abs=1e-12)
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"), abs=1e-12)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-9)
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba), abs=1e-9)


def test_string_labels():
    y = np.array(["cat", "dog", "dog", "cat", "dog"])
    pred = np.array(["cat", "dog", "cat", "cat", "dog"])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    got = classification_metrics(y, pred, proba, classes=["cat", "dog"])
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, pos_label="dog"))
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y == "dog", proba[:, 1]))
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=["cat", "dog"]))


def test_hand_computed_auc_with_ties():
    # positives score 0.8 and 0.5, negatives 0.5 and 0.2: pairs (0.8>0.5, 0.8>0.2, 0.5=0.5 half, 0.5>0.2) = 3.5/4
    assert roc_auc(np.array([True, True, False, False]), np.array([0.8, 0.5, 0.5, 0.2])) == pytest.approx(0.875)


def test_degenerate_cases():
    assert np.isnan(roc_auc(np.array([True, True]), np.array([0.1, 0.9])))
    nothing_predicted = classification_metrics([1, 1, 0], [0, 0, 0], classes=[0, 1])
    assert nothing_predicted["precision"] == 0.0 and nothing_predicted["f1"] == 0.0
    with pytest.raises(ValueError, match="2 labels but 3 predictions"):
        classification_metrics([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="no rows"):
        regression_metrics([], [])


def test_log_loss_clips_certain_mistakes():
    got = classification_metrics([1, 0], [0, 0], np.array([[1.0, 0.0], [1.0, 0.0]]), classes=[0, 1])
    assert np.isfinite(got["log_loss"])
    assert got["log_loss"] == pytest.approx(sk.log_loss([1, 0], [[1.0, 0.0], [1.0, 0.0]]))


@pytest.mark.parametrize("seed", range(3))
def test_regression_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=300)
    pred = y + rng.normal(scale=0.3, size=300)
    got = regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, pred), abs=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)), abs=1e-12)
    assert got["r2"] == pytest.approx(sk.r2_score(y, pred), abs=1e-12)


def test_regression_hand_computed():
    got = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert got["mae"] == pytest.approx(2 / 3)
    assert got["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert got["r2"] == pytest.approx(1 - 4 / 2)


@pytest.mark.parametrize("seed", range(5))
def test_average_ranks_match_scipy(seed):
    from scipy.stats import rankdata

    from mlpipex.stats.metrics import average_ranks

    values = np.random.default_rng(seed).integers(0, 20, size=200).astype(float)  # many ties
    assert np.array_equal(average_ranks(values), rankdata(values))
    assert average_ranks(np.array([])).shape == (0,)
