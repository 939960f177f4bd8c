"""Gate 3, smoke: the model runs over the whole holdout and its metrics meet the floors.

NaN or infinite outputs always fail, whatever the thresholds: a model that emits
them in CI will emit them in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mlpipex.config.thresholds import parse_threshold
from mlpipex.errors import InputError
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.runtime import Predictions
from mlpipex.stats.metrics import check_known, classification_metrics, regression_metrics

NAME = "smoke"


def compute_metrics(
    task: str, labels: np.ndarray, predictions: Predictions, positive_label: Any = None
) -> dict[str, float]:
    """Metrics of ``predictions`` against the holdout's labels.

    The metric functions reject data they cannot score (NaN labels, labels that are not
    among the model's classes, an unknown positive label) with ValueError; that is bad
    input, not a bug, so it is reported as such (exit 2) with what to check.
    """
    try:
        return _metrics(task, labels, predictions, positive_label)
    except ValueError as exc:
        raise _unscorable(exc) from exc


def labels_problem(labels: np.ndarray, classes: tuple[Any, ...]) -> InputError | None:
    """Holdout labels outside the model's classes (read from the graph), found before the model runs."""
    try:
        check_known("y_true", _align_labels(labels, np.asarray(classes)), list(classes))
    except ValueError as exc:
        return _unscorable(exc)
    return None


def _unscorable(exc: ValueError) -> InputError:
    return InputError(
        f"the holdout's labels cannot be scored against the model's outputs: {exc}",
        fix="check data.label, data.positive_label and that the holdout has no missing labels",
    )


def _metrics(
    task: str, labels: np.ndarray, predictions: Predictions, positive_label: Any
) -> dict[str, float]:
    if task == "regression":
        assert predictions.values is not None
        return regression_metrics(labels.astype(np.float64), predictions.values.astype(np.float64))
    assert predictions.labels is not None
    y_true = _align_labels(labels, predictions.labels)
    return classification_metrics(
        y_true,
        predictions.labels,
        probabilities=predictions.probabilities,
        classes=list(predictions.classes) if predictions.classes is not None else None,
        positive_label=positive_label,
    )


def _align_labels(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """CSV labels arrive as floats (1.0); integer-labelled models answer ints (1)."""
    if labels.dtype.kind == "f" and predicted.dtype.kind in "iu" and np.all(np.mod(labels, 1) == 0):
        return labels.astype(predicted.dtype)
    return labels


def non_finite(predictions: Predictions) -> int:
    """How many rows have a NaN or infinite probability or value."""
    for array in (predictions.probabilities, predictions.values):
        if array is not None and array.dtype.kind == "f":
            bad = ~np.isfinite(array)
            return int(bad.reshape(bad.shape[0], -1).any(axis=1).sum())
    return 0


def evaluate(
    metrics: Mapping[str, float], thresholds: Mapping[str, str], *, rows: int, bad_rows: int
) -> GateResult:
    measurements: list[Measurement] = []
    failed: list[str] = []
    for name, value in metrics.items():
        threshold = thresholds.get(name)
        status = None
        if threshold is not None:
            ok = parse_threshold(threshold).check(value)
            status = Status.PASS if ok else Status.FAIL
            if not ok:
                failed.append(f"{name} {_fmt(value)} (needs {threshold})")
        measurements.append(Measurement(name, _finite(value), threshold=threshold, status=status))
    for name in thresholds.keys() - metrics.keys():
        failed.append(f"{name} could not be computed (needs {thresholds[name]})")
        measurements.append(Measurement(name, None, threshold=thresholds[name], status=Status.FAIL))
    measurements.append(Measurement("non-finite rows", bad_rows, threshold="== 0",
                                    status=Status.FAIL if bad_rows else Status.PASS))  # fmt: skip
    if bad_rows:
        status, message = Status.FAIL, f"{bad_rows} of {rows} rows have NaN or infinite outputs"
    elif failed:
        status, message = Status.FAIL, "; ".join(failed)
    else:
        shown = ", ".join(f"{k} {_fmt(metrics[k])}" for k in list(thresholds)[:3] if k in metrics)
        status, message = Status.PASS, f"{rows} rows" + (f": {shown}" if shown else "")
    return GateResult(NAME, status, message, measurements, details={"rows": rows, "metrics": dict(metrics)})


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[Any, ...]) -> dict[str, Any]:
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
    return {"labels": [str(c) for c in classes], "matrix": matrix.tolist()}


def run(ctx: GateContext) -> GateResult:
    config = ctx.config
    holdout = ctx.holdout
    predictions = ctx.predictions("candidate")
    bad = non_finite(predictions)
    metrics: dict[str, float] = {}
    if not bad:
        metrics = compute_metrics(config.model.task, holdout.labels, predictions, config.data.positive_label)
    result = evaluate(metrics, config.gates.smoke.thresholds, rows=holdout.rows, bad_rows=bad)
    result.details["task"] = config.model.task
    if config.model.task == "classification" and predictions.labels is not None and predictions.classes:
        y_true = _align_labels(holdout.labels, predictions.labels)
        result.details["confusion_matrix"] = confusion(y_true, predictions.labels, predictions.classes)
    return result
