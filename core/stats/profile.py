"""The reference profile: what the training data looked like, feature by feature.

Packaged with the model, it is what monitoring tests drift against and what input
validation checks requests against, so the training set itself never travels.
Continuous features keep quantiles (the CDF at 1% steps by default), a histogram,
moments and their range; categorical ones keep category frequencies. Both keep
the null rate. Pure: columns in, a JSON-serialisable dict out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["PROFILE_FORMAT", "build_profile", "profile_feature"]

PROFILE_FORMAT = "mlpipex.profile/v1"
MAX_CATEGORIES = 100  # beyond this many distinct values the rest are pooled as "other"


def _is_null(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.array([v is None or (isinstance(v, float) and np.isnan(v)) or v == "" for v in values.tolist()],
                    dtype=bool)  # fmt: skip


def profile_feature(values: np.ndarray, *, categorical: bool, quantiles: int = 101, bins: int = 20) -> dict[str, Any]:
    values = np.asarray(values)
    nulls = _is_null(values)
    present = values[~nulls]
    base: dict[str, Any] = {
        "count": int(values.size),
        "nulls": int(nulls.sum()),
        "null_rate": float(nulls.mean()) if values.size else 0.0,
    }
    if categorical or present.dtype.kind not in "iufb":
        counts = Counter(_category(v) for v in present.tolist())
        total = sum(counts.values())
        top = counts.most_common(MAX_CATEGORIES)
        kept = sum(n for _, n in top)
        return {
            "kind": "categorical",
            **base,
            "frequencies": {k: n / total for k, n in sorted(top)} if total else {},
            "other": (total - kept) / total if total else 0.0,
            "distinct": len(counts),
        }
    data = present.astype(np.float64)
    if data.size == 0:
        return {"kind": "continuous", **base, "min": None, "max": None, "mean": None, "std": None,
                "quantiles": None, "histogram": None}  # fmt: skip
    probs = np.linspace(0, 1, quantiles)
    histogram, edges = np.histogram(data, bins=bins)
    return {
        "kind": "continuous",
        **base,
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": float(data.mean()),
        "std": float(data.std(ddof=1)) if data.size > 1 else 0.0,
        "quantiles": {"probs": [round(float(p), 6) for p in probs], "values": np.quantile(data, probs).tolist()},
        "histogram": {"edges": edges.tolist(), "counts": histogram.astype(int).tolist()},
    }


def _category(value: Any) -> str:
    """Categories are compared as text: 1, 1.0 and "1" from CSV are the same category."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_profile(
    columns: Mapping[str, np.ndarray],
    features: Iterable[str],
    *,
    categorical: Iterable[str] = (),
    quantiles: int = 101,
) -> dict[str, Any]:
    names = list(features)
    categorical = set(categorical)
    rows = int(next(iter(columns.values())).size) if columns else 0
    return {
        "format": PROFILE_FORMAT,
        "rows": rows,
        "features": {
            name: profile_feature(columns[name], categorical=name in categorical, quantiles=quantiles)
            for name in names
        },
    }
