"""What the serving side does around the ONNX model.

``to_features`` turns JSON-like records into the float32 matrix the model takes;
``postprocess`` turns its probabilities into answers a caller can use. Both are
what the `unit` gate tests: a feature-order bug here is invisible to the model's
own metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np

__all__ = ["FEATURES", "LABELS", "postprocess", "to_features"]

FEATURES: tuple[str, ...] = (
    "mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
    "mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry",
    "mean_fractal_dimension", "radius_error", "texture_error", "perimeter_error", "area_error",
    "smoothness_error", "compactness_error", "concavity_error", "concave_points_error",
    "symmetry_error", "fractal_dimension_error", "worst_radius", "worst_texture",
    "worst_perimeter", "worst_area", "worst_smoothness", "worst_compactness", "worst_concavity",
    "worst_concave_points", "worst_symmetry", "worst_fractal_dimension",
)  # fmt: skip

LABELS: tuple[str, str] = ("malignant", "benign")  # class 0, class 1, as scikit-learn's dataset has them

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _names(kind: str, names: Sequence[str]) -> str:
    return f"{kind}{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)}"


def to_features(records: Sequence[Mapping[str, object]]) -> np.ndarray:
    """Records → float32 [n, 30] in FEATURES order.

    Records are untrusted (e.g. parsed JSON), so every value is checked: raises
    ValueError naming the record (0-based) and the field that is missing,
    unknown, not a number, or not finite in float32.
    """
    matrix = np.empty((len(records), len(FEATURES)), dtype=np.float32)
    expected = set(FEATURES)
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"record {index}: expected a mapping of feature name to number, got {type(record).__name__}")
        missing = [f for f in FEATURES if f not in record]
        if missing:
            raise ValueError(f"record {index}: missing {_names('feature', missing)}")
        extra = sorted(str(k) for k in set(record) - expected)
        if extra:
            raise ValueError(f"record {index}: unknown {_names('feature', extra)}")
        for column, name in enumerate(FEATURES):
            value = record[name]
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
                raise ValueError(f"record {index}: feature {name!r} must be a number, got {value!r}")
            number = float(value)
            if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
                raise ValueError(f"record {index}: feature {name!r} is not finite in float32: {value!r}")
            matrix[index, column] = number
    return matrix


def postprocess(probabilities: np.ndarray) -> list[dict[str, object]]:
    """[n, 2] probabilities → [{"label": "benign"|"malignant", "confidence": p}, …].

    The label is the likelier class (malignant on a tie); ``confidence`` its probability.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(LABELS):
        raise ValueError(f"expected probabilities of shape [n, 2], got {list(probabilities.shape)}")
    if not np.isfinite(probabilities).all():
        row = int(np.argwhere(~np.isfinite(probabilities))[0, 0])
        raise ValueError(f"row {row}: probabilities are not finite: {probabilities[row].tolist()}")
    winners = probabilities.argmax(axis=1)
    return [
        {"label": LABELS[int(k)], "confidence": float(probabilities[i, k])}
        for i, k in enumerate(winners)
    ]
