"""What the serving side does around the ONNX model.

``to_features`` turns JSON-like records into the float32 matrix the model takes;
``postprocess`` turns its probabilities into answers a caller can use. Both are
what the `unit` gate tests: a feature-order bug here is invisible to the model's
own metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

FEATURES: tuple[str, ...] = (
    "mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
    "mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry",
    "mean_fractal_dimension", "radius_error", "texture_error", "perimeter_error", "area_error",
    "smoothness_error", "compactness_error", "concavity_error", "concave_points_error",
    "symmetry_error", "fractal_dimension_error", "worst_radius", "worst_texture",
    "worst_perimeter", "worst_area", "worst_smoothness", "worst_compactness", "worst_concavity",
    "worst_concave_points", "worst_symmetry", "worst_fractal_dimension",
)  # fmt: skip

LABELS = ("malignant", "benign")  # class 0, class 1, as scikit-learn's dataset has them


def to_features(records: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Records → float32 [n, 30] in FEATURES order. Raises ValueError naming record and field."""
    matrix = np.empty((len(records), len(FEATURES)), dtype=np.float32)
    expected = set(FEATURES)
    for index, record in enumerate(records):
        missing = [f for f in FEATURES if f not in record]
        if missing:
            raise ValueError(f"record {index}: missing feature {missing[0]!r}")
        extra = sorted(set(record) - expected)
        if extra:
            raise ValueError(f"record {index}: unknown feature {extra[0]!r}")
        for column, name in enumerate(FEATURES):
            value = record[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"record {index}: feature {name!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"record {index}: feature {name!r} is not finite")
            matrix[index, column] = value
    return matrix


def postprocess(probabilities: np.ndarray) -> list[dict[str, object]]:
    """[n, 2] probabilities → [{"label": "benign"|"malignant", "confidence": p}]."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(LABELS):
        raise ValueError(f"expected probabilities of shape [n, 2], got {list(probabilities.shape)}")
    winners = probabilities.argmax(axis=1)
    return [
        {"label": LABELS[int(k)], "confidence": float(probabilities[i, k])}
        for i, k in enumerate(winners)
    ]
