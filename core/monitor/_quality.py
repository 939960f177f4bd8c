"""Model quality from delayed ground truth (pure), and whether it dropped significantly.

Labelled predictions of a window give the real metrics (``mlpipex.stats.metrics``).
A drop is judged against the package's offline metric, one-sided, so noise in a
small sample does not alarm:

- classification: accuracy. H0 "accuracy ≥ offline − max_drop"; the exact binomial
  tail P(X ≤ correct | n, offline − max_drop) below ``alpha`` is a drop.
- regression: MAE. H0 "mean |error| ≤ offline × (1 + max_drop)"; a one-sided
  one-sample t-test of the absolute errors below ``alpha`` is a drop.

Fewer than ``min_labels`` labels, or no offline metric, gives no verdict (None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["QualityCheck", "judge_quality"]


@dataclass(frozen=True)
class QualityCheck:
    metrics: dict[str, float]
    metric: str  # the judged one
    baseline: float | None
    p_value: float | None
    dropped: bool | None  # None: no verdict
    labels: int


def judge_quality(task: str, predictions: np.ndarray, truth: np.ndarray, values: np.ndarray,
                  baseline: Mapping[str, float], *, max_drop: float, alpha: float,
                  min_labels: int) -> QualityCheck:  # fmt: skip
    try:
        from scipy import stats
    except ImportError:  # scipy is not in the base install
        from mlpipex.errors import InputError

        raise InputError("the monitor's quality check needs scipy (the `monitor` extra)",
                         fix="pip install 'mlpipex[monitor]'") from None  # fmt: skip

    from mlpipex.stats.metrics import classification_metrics, regression_metrics

    keep = np.isfinite(predictions) & np.isfinite(truth)
    pred, true = predictions[keep], truth[keep]
    n = int(pred.size)
    metrics: dict[str, float] = {}
    finite_values = values[np.isfinite(values)]
    if finite_values.size:
        metrics["business_value_mean"] = float(finite_values.mean())
        metrics["business_value_sum"] = float(finite_values.sum())
    if task == "regression":
        metric = "mae"
        if n:
            metrics.update(regression_metrics(true, pred))
    else:
        metric = "accuracy"
        if n:
            try:
                metrics.update(classification_metrics(true, pred))
            except ValueError:  # e.g. one class only: accuracy still means something
                metrics["accuracy"] = float(np.mean(pred == true))
    reference = baseline.get(metric)
    if n < min_labels or reference is None:
        return QualityCheck(metrics, metric, reference, None, None, n)
    if metric == "accuracy":
        floor = max(0.0, reference - max_drop)
        correct = int(np.sum(pred == true))
        p_value = float(stats.binom.cdf(correct, n, floor)) if floor > 0 else 1.0
    else:
        errors = np.abs(pred - true)
        ceiling = reference * (1 + max_drop)
        if np.ptp(errors) == 0:
            p_value = 0.0 if errors[0] > ceiling else 1.0
        else:
            p_value = float(stats.ttest_1samp(errors, ceiling, alternative="greater").pvalue)
    return QualityCheck(metrics, metric, reference, p_value, p_value < alpha, n)
