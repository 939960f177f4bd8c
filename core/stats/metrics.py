"""Model quality metrics with numpy only (no scikit-learn at run time).

The gates run inside CI images that should not need scikit-learn, yet the numbers
must be the ones a data scientist gets from ``sklearn.metrics``: the tests check
every metric against it within 1e-9. Binary metrics are for the positive label,
more classes get macro averages, ROC AUC comes from average ranks (ties count
half) and log loss from clipped, renormalised probabilities.

Undefined values follow scikit-learn's ``zero_division=0`` (precision with no
predicted positives is 0.0), except AUC with a single class present, which is
NaN: a threshold on it then fails instead of passing on a meaningless number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CLASSIFICATION_METRICS",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "average_ranks",
    "check_known",
    "classification_metrics",
    "regression_metrics",
    "roc_auc",
]

# Names the config may put thresholds on; the config validates against these.
CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "auc", "log_loss")
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2")
HIGHER_IS_BETTER: frozenset[str] = frozenset({"accuracy", "precision", "recall", "f1", "auc", "r2"})
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "mae", "rmse"})


def _check_pair(truth: np.ndarray, pred: np.ndarray) -> None:
    """Lengths, emptiness and shape: a mismatch here is always a data bug upstream."""
    if truth.ndim != 1 or pred.ndim != 1:
        raise ValueError(
            f"labels and predictions must be 1-D, got shapes {truth.shape} and {pred.shape}"
        )
    if len(truth) == 0:
        raise ValueError("no rows to compute metrics on")
    if len(truth) != len(pred):
        raise ValueError(f"{len(truth)} labels but {len(pred)} predictions")


def _check_finite(name: str, values: np.ndarray) -> None:
    """NaN would silently turn every metric into NaN; say which input holds it instead."""
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise ValueError(f"{name} has {bad} NaN or infinite values")


def average_ranks(values: ArrayLike) -> NDArray[np.float64]:
    """1-based ranks with ties sharing their average rank (``scipy.stats.rankdata``'s default).

    Written out because importing scipy.stats costs about a second at start-up, which
    every `mlpipex` invocation would pay for one function. O(n log n): one stable sort.
    """
    data = np.asarray(values)
    order = np.argsort(data, kind="mergesort")
    ordered = data[order]
    starts_group = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.concatenate((starts[1:], [len(data)]))
    ranks = np.empty(len(data), dtype=np.float64)
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks


def _as_mask(is_positive: ArrayLike) -> NDArray[np.bool_]:
    """Booleans, or 0/1 numbers; anything else (labels 1 and 2, say) is refused.

    An integer array used as a mask would silently index rows instead of selecting them.
    """
    mask = np.asarray(is_positive)
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype.kind in "iuf" and np.isin(mask, (0, 1)).all():
        return mask.astype(bool)
    raise ValueError("is_positive must be a boolean mask (or 0/1 values)")


def roc_auc(is_positive: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve; NaN when only one class is present.

    Uses the Mann–Whitney form (sum of the positives' average ranks), which equals
    the trapezoidal area scikit-learn computes, ties in the scores counting half,
    in O(n log n) with no threshold loop.
    """
    mask = _as_mask(is_positive)
    values = np.asarray(scores, dtype=np.float64)
    if mask.ndim != 1 or values.shape != mask.shape:
        raise ValueError(f"mask of shape {mask.shape} for scores of shape {values.shape}")
    _check_finite("scores", values)
    positives = int(np.count_nonzero(mask))
    negatives = len(mask) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = float(average_ranks(values)[mask].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _ratio(num: float, den: float) -> float:
    """scikit-learn's zero_division=0: an undefined precision, recall or F1 is 0."""
    return num / den if den else 0.0


def _prf(truth: np.ndarray, pred: np.ndarray, label: Any) -> tuple[float, float, float]:
    """Precision, recall and F1 of one label, as F1 = 2tp / (2tp + fp + fn)."""
    actual, predicted = truth == label, pred == label
    tp = float(np.count_nonzero(actual & predicted))
    n_actual, n_predicted = float(np.count_nonzero(actual)), float(np.count_nonzero(predicted))
    return _ratio(tp, n_predicted), _ratio(tp, n_actual), _ratio(2 * tp, n_actual + n_predicted)


def _labels_from_data(truth: np.ndarray, pred: np.ndarray) -> list[Any]:
    """Sorted labels seen in either array: the column order of scikit-learn's ``classes_``."""
    try:
        return sorted(set(truth.tolist()) | set(pred.tolist()))
    except TypeError as exc:  # e.g. 1 and "1" mixed
        raise ValueError(f"labels of different types cannot be ordered ({exc}); pass classes") from exc


def check_known(name: str, values: np.ndarray, labels: list[Any]) -> None:
    """Every value must be one of the classes: one outside them would silently count as wrong."""
    known = np.zeros(len(values), dtype=bool)
    for label in labels:
        known |= values == label
    if not known.all():
        unknown = sorted({str(v) for v in values[~known].tolist()})
        shown = ", ".join(unknown[:5]) + (", …" if len(unknown) > 5 else "")
        raise ValueError(f"{name} has labels that are not among the classes {labels}: {shown}")


def _positive(labels: list[Any], positive_label: Any, inferred: bool) -> tuple[list[Any], Any]:
    """The positive class of a binary problem, and the labels with it included.

    Default: the second (with inferred labels: the larger) class, like scikit-learn's
    ``pos_label=1`` for {0, 1}. A named positive label that is not a class is an error,
    not a silent fallback, because the metrics would then describe the other class.
    """
    if positive_label is None:
        return labels, labels[-1]
    if positive_label in labels:
        return labels, positive_label
    if inferred and len(labels) < 2:  # the positive class just never occurs in this data
        try:
            return sorted([*labels, positive_label]), positive_label
        except TypeError as exc:
            raise ValueError(f"positive_label {positive_label!r} cannot be ordered among {labels}") from exc
    raise ValueError(f"positive_label {positive_label!r} is not one of the classes {labels}")


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    probabilities: ArrayLike | None = None,
    classes: Sequence[Any] | None = None,
    positive_label: Any = None,
) -> dict[str, float]:
    """accuracy, precision, recall, f1; with ``probabilities`` also auc and log_loss.

    ``probabilities`` is [n, len(classes)] with columns in the order of ``classes``
    (default: the sorted labels found in ``y_true`` and ``y_pred``). Two classes give
    the positive label's precision, recall and F1 and the AUC of its column; more
    give macro averages over the labels present in ``y_true`` or ``y_pred`` (as
    scikit-learn's default does) and a one-vs-rest macro AUC (NaN if a class never
    occurs in ``y_true``). ``positive_label`` is ignored for more than two classes.
    """
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    _check_pair(truth, pred)
    inferred = classes is None
    labels = _labels_from_data(truth, pred) if classes is None else list(classes)
    if not labels:
        raise ValueError("classes is empty")
    if not inferred:
        check_known("y_true", truth, labels)
        check_known("y_pred", pred, labels)
    metrics = {"accuracy": float(np.count_nonzero(truth == pred)) / len(truth)}
    positive = None
    if len(labels) <= 2:
        labels, positive = _positive(labels, positive_label, inferred)
        precision, recall, f1 = _prf(truth, pred, positive)
    else:
        present = [label for label in labels if (truth == label).any() or (pred == label).any()]
        precision, recall, f1 = (float(v) for v in np.mean([_prf(truth, pred, c) for c in present], axis=0))
    metrics.update(precision=precision, recall=recall, f1=f1)
    if probabilities is None:
        return metrics
    raw = np.asarray(probabilities)
    proba = raw.astype(np.float64, copy=False)
    if proba.shape != (len(truth), len(labels)):
        raise ValueError(
            f"probabilities have shape {proba.shape}, expected ({len(truth)}, {len(labels)}): "
            f"one column per class in {labels}"
        )
    _check_finite("probabilities", proba)
    if positive is not None:
        metrics["auc"] = roc_auc(truth == positive, proba[:, labels.index(positive)])
    else:
        metrics["auc"] = float(np.mean([roc_auc(truth == c, proba[:, i]) for i, c in enumerate(labels)]))
    metrics["log_loss"] = _log_loss(truth, proba, labels, raw.dtype)
    return metrics


def _log_loss(truth: np.ndarray, proba: np.ndarray, labels: list[Any], dtype: np.dtype[Any]) -> float:
    """Mean negative log-likelihood of the true class.

    Clipped to [eps, 1 - eps] (eps of the model's output dtype, as scikit-learn does)
    so one confident mistake costs about 36 instead of infinity, then renormalised so
    float32 rows that sum to 0.9999999 are read as the distributions they stand for.
    """
    eps = np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps
    clipped = np.clip(proba, eps, 1 - eps)
    clipped /= clipped.sum(axis=1, keepdims=True)
    column = np.zeros(len(truth), dtype=np.int64)  # every label is a class: checked on entry
    for i, label in enumerate(labels):
        column[truth == label] = i
    return float(-np.mean(np.log(clipped[np.arange(len(truth)), column])))


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """mae, rmse and r2 (coefficient of determination, scikit-learn's conventions).

    A constant ``y_true`` leaves R² undefined; like scikit-learn it is then 1.0 for a
    perfect prediction and 0.0 otherwise.
    """
    truth, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    _check_pair(truth, pred)
    _check_finite("y_true", truth)
    _check_finite("y_pred", pred)
    error = truth - pred
    residual = float(np.sum(error**2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0:
        r2 = 1.0 if residual == 0 else 0.0
    else:
        r2 = 1.0 - residual / total
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(residual / len(truth))),
        "r2": r2,
    }
