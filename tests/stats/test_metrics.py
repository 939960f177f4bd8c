"""Metrics against scikit-learn (the reference), hand-computed answers and bad inputs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn import metrics as sk

from mlpipex.stats import (
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
    roc_auc,
)
from mlpipex.stats.metrics import average_ranks

TOL = 1e-9


def binary_data(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, probabilities [1-p, p] rounded to 2 decimals (plenty of ties), thresholded predictions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1), 2)
    return y, np.column_stack([1 - p, p]), (p > 0.5).astype(int)


def multiclass_data(seed: int, k: int = 4, n: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[np.arange(n), y] += 0.3
    proba = np.round(proba / proba.sum(axis=1, keepdims=True), 3)  # ties within each column
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba, proba.argmax(axis=1)


def assert_matches_sklearn_binary(got, y, pred, proba, classes, pos_label):
    column = classes.index(pos_label)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=TOL)
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, pos_label=pos_label, zero_division=0), abs=TOL)
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred, pos_label=pos_label, zero_division=0), abs=TOL)
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, pos_label=pos_label, zero_division=0), abs=TOL)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y == pos_label, proba[:, column]), abs=TOL)
    by_name = sorted(classes)  # scikit-learn reads probability columns in sorted label order
    sorted_proba = proba[:, [classes.index(c) for c in by_name]]
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, sorted_proba, labels=by_name), abs=TOL)


@pytest.mark.parametrize("seed", range(6))
def test_binary_matches_sklearn(seed):
    y, proba, pred = binary_data(seed)
    got = classification_metrics(y, pred, proba, classes=[0, 1])
    assert_matches_sklearn_binary(got, y, pred, proba, [0, 1], pos_label=1)


@pytest.mark.parametrize("seed", range(3))
def test_binary_positive_label_zero_matches_sklearn(seed):
    y, proba, pred = binary_data(seed)
    got = classification_metrics(y, pred, proba, classes=[0, 1], positive_label=0)
    assert_matches_sklearn_binary(got, y, pred, proba, [0, 1], pos_label=0)
    default = classification_metrics(y, pred, proba, classes=[0, 1])
    assert got["precision"] != default["precision"]  # the label really changed what is measured


@pytest.mark.parametrize("seed", range(3))
def test_binary_string_labels_match_sklearn(seed):
    y01, proba, pred01 = binary_data(seed)
    names = np.array(["cat", "dog"])
    y, pred = names[y01], names[pred01]
    got = classification_metrics(y, pred, proba, classes=["cat", "dog"])  # default positive: "dog"
    assert_matches_sklearn_binary(got, y, pred, proba, ["cat", "dog"], pos_label="dog")
    inferred = classification_metrics(y.tolist(), pred.tolist(), proba)  # classes sorted from the data
    assert inferred == got


def test_classes_in_model_order_pick_the_second_as_positive():
    """A model whose classes_ are ["yes", "no"] has "no" as the second column and default positive."""
    y = np.array(["yes", "no", "no", "yes", "no"])
    pred = np.array(["yes", "no", "yes", "yes", "yes"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.55, 0.45]])  # columns: yes, no
    got = classification_metrics(y, pred, proba, classes=["yes", "no"])
    assert_matches_sklearn_binary(got, y, pred, proba, ["yes", "no"], pos_label="no")


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_matches_sklearn(seed):
    y, proba, pred = multiclass_data(seed)
    got = classification_metrics(y, pred, proba, classes=[0, 1, 2, 3])
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=TOL)
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        assert got[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0), abs=TOL), name
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=TOL)
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba), abs=TOL)


def test_multiclass_string_labels_match_sklearn():
    y_idx, proba, pred_idx = multiclass_data(7, k=3)
    names = np.array(["setosa", "versicolor", "virginica"])
    y, pred = names[y_idx], names[pred_idx]
    got = classification_metrics(y, pred, proba, classes=list(names))
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"), abs=TOL)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, proba, multi_class="ovr", labels=names), abs=TOL)
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=names), abs=TOL)


def test_multiclass_class_never_predicted_scores_zero_precision_like_sklearn():
    y, proba, pred = multiclass_data(3)
    pred = np.where(pred == 2, 0, pred)  # nobody is predicted class 2
    got = classification_metrics(y, pred, proba, classes=[0, 1, 2, 3])
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        assert got[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0), abs=TOL), name


def test_multiclass_class_absent_from_the_data():
    """Macro averages run over the labels that occur (scikit-learn's default); the AUC is undefined."""
    y, proba, pred = multiclass_data(4, k=4)
    keep = (y != 3) & (pred != 3)
    y, proba, pred = y[keep], proba[keep], pred[keep]
    got = classification_metrics(y, pred, proba, classes=[0, 1, 2, 3])
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, average="macro"), abs=TOL)
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"), abs=TOL)
    with pytest.warns(sk._ranking.UndefinedMetricWarning):
        expected = sk.roc_auc_score(y, proba, multi_class="ovr", labels=[0, 1, 2, 3])
    assert np.isnan(expected) and np.isnan(got["auc"])
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=[0, 1, 2, 3]), abs=TOL)


def test_hand_computed_binary_case():
    y = [1, 1, 0, 0]
    pred = [1, 0, 1, 0]
    proba = np.array([[0.2, 0.8], [0.5, 0.5], [0.5, 0.5], [0.8, 0.2]])
    got = classification_metrics(y, pred, proba, classes=[0, 1])
    # tp=1, fp=1, fn=1: precision = recall = f1 = 1/2.
    assert got["accuracy"] == 0.5 and got["precision"] == 0.5 and got["recall"] == 0.5 and got["f1"] == 0.5
    # Positive scores 0.8, 0.5 vs negative 0.5, 0.2: pairs won 1 + 1 + 1/2 (tie) + 1 of 4.
    assert got["auc"] == pytest.approx(3.5 / 4, abs=1e-15)
    # The true class's probability: 0.8, 0.5, 0.5, 0.8.
    assert got["log_loss"] == pytest.approx(-(2 * np.log(0.8) + 2 * np.log(0.5)) / 4, abs=1e-12)


def test_hand_computed_multiclass_case():
    y = ["a", "b", "c", "c"]
    pred = ["a", "c", "c", "b"]
    got = classification_metrics(y, pred, classes=["a", "b", "c"])
    # a: P=1, R=1, F=1; b: P=0, R=0, F=0; c: P=1/2, R=1/2, F=1/2.
    assert got["accuracy"] == 0.5
    assert got["precision"] == pytest.approx(0.5) and got["recall"] == pytest.approx(0.5)
    assert got["f1"] == pytest.approx(0.5)
    assert set(got) == {"accuracy", "precision", "recall", "f1"}  # no probabilities: no auc, log_loss


def test_all_scores_tied_give_auc_one_half():
    got = classification_metrics([0, 1, 0, 1, 1], [1, 1, 1, 1, 1], np.full((5, 2), 0.5), classes=[0, 1])
    assert got["auc"] == 0.5 == sk.roc_auc_score([0, 1, 0, 1, 1], np.full(5, 0.5))
    assert got["log_loss"] == pytest.approx(np.log(2), abs=1e-12)


def test_one_class_present_gives_nan_auc_and_sklearn_metrics():
    y, pred = np.ones(6, dtype=int), np.array([1, 1, 0, 1, 0, 1])
    proba = np.column_stack([1 - np.linspace(0.1, 0.9, 6), np.linspace(0.1, 0.9, 6)])
    got = classification_metrics(y, pred, proba, classes=[0, 1])
    assert np.isnan(got["auc"])
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred), abs=TOL) == 1.0
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred), abs=TOL)
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=[0, 1]), abs=TOL)


def test_zero_predicted_positives_score_zero_like_sklearn():
    y, pred = [1, 1, 0, 0], [0, 0, 0, 0]
    got = classification_metrics(y, pred, classes=[0, 1])
    assert got == {"accuracy": 0.5, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert sk.precision_score(y, pred, zero_division=0) == 0.0 and sk.f1_score(y, pred, zero_division=0) == 0.0


def test_no_positives_at_all_score_zero_like_sklearn():
    y = pred = [0, 0, 0]
    got = classification_metrics(y, pred, classes=[0, 1])
    expected = {n: f(y, pred, zero_division=0) for n, f in
                (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score))}  # fmt: skip
    assert got == {"accuracy": 1.0, **expected}
    # Classes from the data alone: a named positive label that never occurs is the positive class.
    assert classification_metrics(y, pred, positive_label=1) == got


def test_positive_label_that_is_no_class_is_an_error():
    with pytest.raises(ValueError, match="positive_label 'yes' is not one of the classes"):
        classification_metrics([0, 1], [0, 1], classes=[0, 1], positive_label="yes")
    with pytest.raises(ValueError, match="positive_label 2"):
        classification_metrics([0, 1], [0, 1], positive_label=2)


def test_labels_outside_the_classes_are_an_error():
    with pytest.raises(ValueError, match=r"y_true has labels that are not among the classes \[0, 1\]: 2"):
        classification_metrics([0, 1, 2], [0, 1, 1], classes=[0, 1])
    with pytest.raises(ValueError, match="y_pred has labels"):
        classification_metrics([0, 1, 1], [0, 1, 7], classes=[0, 1])


def test_float_labels_match_integer_classes():
    got = classification_metrics(np.array([1.0, 0.0, 1.0]), np.array([1, 0, 0]), classes=[0, 1])
    assert got == pytest.approx({"accuracy": 2 / 3, "precision": 1.0, "recall": 0.5, "f1": 2 / 3})


def test_log_loss_clips_certain_mistakes_like_sklearn():
    proba = np.array([[1.0, 0.0], [1.0, 0.0]])
    got = classification_metrics([1, 0], [0, 0], proba, classes=[0, 1])
    assert got["log_loss"] == pytest.approx(sk.log_loss([1, 0], proba), abs=TOL)
    assert got["log_loss"] == pytest.approx(-np.log(np.finfo(np.float64).eps) / 2, abs=1e-9)  # ≈ 18.02
    # float32 model outputs: clipped at float32's eps, as scikit-learn does.
    single = classification_metrics([1], [0], proba[:1].astype(np.float32), classes=[0, 1])
    assert single["log_loss"] == pytest.approx(-np.log(np.finfo(np.float32).eps), rel=1e-6)
    assert single["log_loss"] == pytest.approx(sk.log_loss([1], proba[:1].astype(np.float32), labels=[0, 1]), rel=1e-6)


def test_log_loss_renormalises_rows():
    got = classification_metrics([0], [0], np.array([[0.2, 0.2, 0.2]]), classes=[0, 1, 2])
    assert got["log_loss"] == pytest.approx(np.log(3), abs=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0, 1], [0, 1, 1]), "2 labels but 3 predictions"),
        (([], []), "no rows"),
        ((np.zeros((2, 2)), np.zeros((2, 2))), "must be 1-D"),
        (([0, 1], [0, 1], np.ones((2, 3)), [0, 1]), r"shape \(2, 3\), expected \(2, 2\)"),
        (([0, 1], [0, 1], np.array([[0.5, 0.5], [np.nan, 0.5]]), [0, 1]), "probabilities has 1 NaN"),
        ((np.array([0, "1"], dtype=object), np.array([0, 0], dtype=object)), "labels of different types cannot be ordered"),
        (([0], [0], None, []), "classes is empty"),
    ],
)
def test_bad_classification_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(*args)


def test_metric_names_and_directions_agree():
    y, proba, pred = binary_data(0)
    assert tuple(classification_metrics(y, pred, proba, classes=[0, 1])) == CLASSIFICATION_METRICS
    assert tuple(classification_metrics(y, pred, proba[:, [0, 1, 1]] / [[1, 2, 2]], classes=[0, 1, 2])) \
        == CLASSIFICATION_METRICS  # fmt: skip
    assert tuple(regression_metrics([1.0, 2.0], [1.5, 2.5])) == REGRESSION_METRICS
    assert HIGHER_IS_BETTER.isdisjoint(LOWER_IS_BETTER)
    assert set(CLASSIFICATION_METRICS) | set(REGRESSION_METRICS) == HIGHER_IS_BETTER | LOWER_IS_BETTER
    assert {"auc", "r2"} <= HIGHER_IS_BETTER and {"log_loss", "rmse"} <= LOWER_IS_BETTER


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    positive = rng.random(1000) < 0.3
    scores = rng.integers(0, 15, 1000) + positive * rng.integers(0, 4, 1000)  # heavy ties
    assert roc_auc(positive, scores) == pytest.approx(sk.roc_auc_score(positive, scores), abs=TOL)
    assert roc_auc(positive.astype(int), scores) == roc_auc(positive, scores)  # 0/1 works as a mask


def test_roc_auc_refuses_masks_that_are_labels():
    with pytest.raises(ValueError, match="boolean mask"):
        roc_auc(np.array([1, 2, 2]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="mask of shape"):
        roc_auc(np.array([True, False]), np.array([0.1, 0.2, 0.3]))


def test_roc_auc_is_fast_on_a_large_holdout():
    """O(n log n): a pairwise or per-threshold loop would take minutes here."""
    rng = np.random.default_rng(0)
    positive = rng.random(1_000_000) < 0.5
    scores = np.round(rng.random(1_000_000) + positive * 0.2, 3)
    start = time.perf_counter()
    value = roc_auc(positive, scores)
    assert time.perf_counter() - start < 2.0
    assert 0.6 < value < 0.7


@pytest.mark.parametrize("seed", range(5))
def test_average_ranks_match_scipy(seed):
    values = np.random.default_rng(seed).integers(0, 20, size=200).astype(float)  # many ties
    assert np.array_equal(average_ranks(values), rankdata(values))
    assert np.array_equal(average_ranks(values.astype(str)), rankdata(values.astype(str)))
    assert average_ranks(np.array([])).shape == (0,)


@pytest.mark.parametrize("seed", range(4))
def test_regression_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=300) * 10
    pred = y + rng.normal(scale=3, size=300)
    got = regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, pred), abs=TOL)
    assert got["rmse"] == pytest.approx(sk.root_mean_squared_error(y, pred), abs=TOL)
    assert got["r2"] == pytest.approx(sk.r2_score(y, pred), abs=TOL)


def test_regression_hand_computed():
    got = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert got["mae"] == pytest.approx(2 / 3)
    assert got["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert got["r2"] == pytest.approx(1 - 4 / 2)  # residual 4, total 2


@pytest.mark.parametrize(("pred", "r2"), [([3.0, 3.0, 3.0], 1.0), ([3.0, 3.0, 4.0], 0.0)])
def test_regression_constant_target_like_sklearn(pred, r2):
    assert regression_metrics([3, 3, 3], pred)["r2"] == r2 == sk.r2_score([3, 3, 3], pred)


@pytest.mark.parametrize(
    ("y", "pred", "message"),
    [
        ([1.0, 2.0], [1.0], "2 labels but 1 predictions"),
        ([], [], "no rows"),
        ([1.0, np.nan], [1.0, 2.0], "y_true has 1 NaN or infinite"),
        ([1.0, 2.0], [np.inf, 2.0], "y_pred has 1 NaN or infinite"),
    ],
)
def test_bad_regression_inputs(y, pred, message):
    with pytest.raises(ValueError, match=message):
        regression_metrics(y, pred)
