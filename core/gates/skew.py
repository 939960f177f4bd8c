"""Gate 6, skew: the exported artifact predicts what the training pipeline predicted.

When the holdout carries the training pipeline's own predictions, any difference
beyond float noise means preprocessing differs between training and export (a
scaler fitted twice, a feature order swapped, a dtype narrowed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpipex.config.model import SkewConfig
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.gates.smoke import _align_labels

NAME = "skew"
WORST_ROWS = 5


def evaluate(
    settings: SkewConfig,
    *,
    expected_scores: np.ndarray | None,
    actual_scores: np.ndarray | None,
    expected_labels: np.ndarray | None,
    actual_labels: np.ndarray | None,
) -> GateResult:
    measurements: list[Measurement] = []
    problems: list[str] = []
    worst: list[dict[str, Any]] = []
    if expected_scores is not None and actual_scores is not None:
        diff = np.abs(expected_scores.astype(np.float64) - actual_scores.astype(np.float64))
        diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN on one side is maximal skew
        max_diff = float(diff.max()) if diff.size else 0.0
        ok = max_diff <= settings.max_abs_diff
        measurements.append(Measurement("max_abs_diff", max_diff, threshold=f"<= {settings.max_abs_diff:g}",
                                        status=Status.PASS if ok else Status.FAIL))  # fmt: skip
        measurements.append(Measurement("mean_abs_diff", float(np.mean(diff)) if diff.size else 0.0))
        if not ok:
            over = int(np.sum(diff > settings.max_abs_diff))
            problems.append(f"scores differ by up to {max_diff:.3g} (limit {settings.max_abs_diff:g}) "
                            f"on {over} of {diff.size} rows")  # fmt: skip
        for row in np.argsort(-diff, kind="stable")[:WORST_ROWS]:
            worst.append({"row": int(row), "expected": float(expected_scores[row]),
                          "actual": float(actual_scores[row]), "abs_diff": float(diff[row])})  # fmt: skip
    if expected_labels is not None and actual_labels is not None:
        expected = _align_labels(expected_labels, actual_labels)
        mismatched = int(np.sum(expected != actual_labels))
        rate = mismatched / max(len(actual_labels), 1)
        ok = rate <= settings.max_label_mismatch_rate
        measurements.append(Measurement("label_mismatch_rate", rate,
                                        threshold=f"<= {settings.max_label_mismatch_rate:g}",
                                        status=Status.PASS if ok else Status.FAIL))  # fmt: skip
        if not ok:
            problems.append(f"{mismatched} of {len(actual_labels)} labels differ ({rate:.2%})")
    rows = len(actual_scores if actual_scores is not None else actual_labels if actual_labels is not None else [])
    if problems:
        status, message = Status.FAIL, "training/serving skew: " + "; ".join(problems)
    else:
        status, message = Status.PASS, f"artifact matches the training pipeline on {rows} rows"
    return GateResult(NAME, status, message, measurements, details={"rows": rows, "worst_rows": worst})


def run(ctx: GateContext) -> GateResult:
    config = ctx.config
    holdout = ctx.holdout
    if holdout.score is None and holdout.prediction is None:
        return GateResult(NAME, Status.SKIP,
                          "the holdout has no training-pipeline predictions: set data.score_column "
                          "or data.prediction_column to check skew")  # fmt: skip
    predictions = ctx.predictions("candidate")
    actual_scores = None
    if holdout.score is not None:
        if config.model.task == "regression":
            actual_scores = predictions.values
        elif predictions.probabilities is not None and predictions.probabilities.shape[1] == 2:
            classes = list(predictions.classes or (0, 1))
            positive = config.data.positive_label if config.data.positive_label in classes else classes[-1]
            actual_scores = predictions.probabilities[:, classes.index(positive)]
        else:
            return GateResult(NAME, Status.ERROR,
                              "data.score_column needs a binary classifier's probabilities or a "
                              "regression value; use data.prediction_column for multiclass models")  # fmt: skip
    expected_labels = holdout.prediction
    derived = False
    if expected_labels is None and actual_scores is not None and _labels_asked(config.gates.skew):
        # No predicted labels in the holdout, but a label limit was set: the training
        # pipeline's labels are its scores at the model's own threshold.
        expected_labels = labels_at_threshold(holdout.score, list(predictions.classes or (0, 1)),
                                              config.data.positive_label)  # fmt: skip
        derived = expected_labels is not None
    result = evaluate(
        config.gates.skew,
        expected_scores=holdout.score,
        actual_scores=actual_scores,
        expected_labels=expected_labels,
        actual_labels=predictions.labels if expected_labels is not None else None,
    )
    if derived:
        result.details["labels_from"] = f"data.score_column at the model's threshold (0.5 on {config.data.score_column})"
    return result


def _labels_asked(settings: SkewConfig) -> bool:
    return "max_label_mismatch_rate" in settings.model_fields_set


def labels_at_threshold(scores: np.ndarray | None, classes: list[Any], positive_label: Any) -> np.ndarray | None:
    """Binary labels from positive-class scores as argmax over [1 - p, p] picks them (ties: the first class)."""
    if scores is None or len(classes) != 2:
        return None
    positive = positive_label if positive_label in classes else classes[-1]
    index = classes.index(positive)
    other = classes[1 - index]
    chosen = scores > 0.5 if index == 1 else scores >= 0.5
    return np.where(chosen, positive, other)
