"""Model quality metrics with numpy and scipy only (no scikit-learn at run time).

Each function matches scikit-learn's definition of the same metric (tests check
within 1e-9): binary metrics for the positive label, macro averages for more
classes, ROC AUC from average ranks so ties count half, log loss with clipped and
renormalised probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFICATION_METRICS",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "average_ranks",
    "classification_metrics",
    "regression_metrics",
    "roc_auc",
]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "auc", "r2"})
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) == 0:
        raise ValueError("no rows to compute metrics on")
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (``scipy.stats.rankdata``'s default).

    Written out because importing scipy.stats costs about a second at start-up, which
    every `mlpipex` invocation would pay for one function.
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.concatenate((starts[1:], [len(values)]))
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann–Whitney form of the AUC: O(n log n), ties get average ranks. NaN with one class."""
    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = average_ranks(scores)
    return float((ranks[is_positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _safe_div(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _prf(y_true: np.ndarray, y_pred: np.ndarray, label: Any) -> tuple[float, float, float]:
    actual, predicted = y_true == label, y_pred == label
    tp = float(np.sum(actual & predicted))
    precision = _safe_div(tp, float(predicted.sum()))
    recall = _safe_div(tp, float(actual.sum()))
    f1 = _safe_div(2 * tp, float(actual.sum() + predicted.sum()))
    return precision, recall, f1


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    probabilities: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    positive_label: Any = None,
) -> dict[str, float]:
    """accuracy, precision, recall, f1; with ``probabilities`` ([n, classes]) also auc and log_loss."""
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    _check(truth, pred)
    if classes is None:
        classes = sorted(set(truth.tolist()) | set(pred.tolist()))
    labels = list(classes)
    metrics = {"accuracy": float(np.mean(truth == pred))}
    binary = len(labels) == 2
    if binary:
        positive = labels[-1] if positive_label is None or positive_label not in labels else positive_label
        precision, recall, f1 = _prf(truth, pred, positive)
    else:
        # scikit-learn's macro average runs over the labels seen in either array.
        present = np.unique(np.concatenate([truth, pred])).tolist()
        scores = np.array([_prf(truth, pred, label) for label in present])
        precision, recall, f1 = (float(v) for v in scores.mean(axis=0))
    metrics.update(precision=precision, recall=recall, f1=f1)
    if probabilities is None:
        return metrics
    proba = np.asarray(probabilities, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(truth), len(labels)):
        raise ValueError(f"probabilities have shape {proba.shape}, expected ({len(truth)}, {len(labels)})")
    if binary:
        metrics["auc"] = roc_auc(truth == positive, proba[:, labels.index(positive)])
    else:
        per_class = [roc_auc(truth == label, proba[:, i]) for i, label in enumerate(labels)]
        metrics["auc"] = float(np.mean(per_class))
    metrics["log_loss"] = _log_loss(truth, proba, labels)
    return metrics


def _log_loss(truth: np.ndarray, proba: np.ndarray, labels: list[Any]) -> float:
    eps = np.finfo(proba.dtype).eps
    clipped = np.clip(proba, eps, 1 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    index = {label: i for i, label in enumerate(labels)}
    columns = np.fromiter((index.get(t, -1) for t in truth.tolist()), dtype=np.int64, count=len(truth))
    if (columns < 0).any():
        unknown = sorted({t for t in truth.tolist() if t not in index}, key=str)
        raise ValueError(f"labels {unknown} are not among the model's classes {labels}")
    return float(-np.mean(np.log(clipped[np.arange(len(truth)), columns])))


def regression_metrics(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> dict[str, float]:
    truth, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    _check(truth, pred)
    error = truth - pred
    total = float(np.sum((truth - truth.mean()) ** 2))
    residual = float(np.sum(error**2))
    if total == 0:
        r2 = 1.0 if residual == 0 else 0.0  # scikit-learn's convention for a constant target
    else:
        r2 = 1.0 - residual / total
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": r2,
    }
