"""Mergeable summaries of a window's feature columns, for a drift check across partitions (pure).

When one revision's events are spread over several partitions (a producer that does
not key by revision, such as a KafkaSink fed by KServe's logger), each partition's
owner holds part of the revision's window. A drift check must judge the union, as one
process holding every event would. Each owner publishes, per window and feature, a
``ColumnSummary``:

- exact (the sorted values) while the column holds at most ``exact_limit`` values:
  merging concatenates them, and the drift check sees the very union, so its verdict
  is a single process's;
- beyond that a rank sketch of ``k`` points, ``q_j = x_(ceil(j·n/k))`` for j = 1..k.

The bound. Write F for the ECDF of the union (N values), F̂ for the merged CDF (each
part's step CDF over its points, weighted by its count). For one sketch,
``j/k <= F_n(t) < (j+1)/k`` where j points are <= t, so ``|F̂_i - F_i| < 1/k``; a
count-weighted mixture of such parts (exact ones have no error) keeps ``< 1/k``. The
drift check is given N values ``F̂⁻¹((i - 0.5)/N)``, whose ECDF is within ``1/(2N)`` of F̂.
So the KS statistic against any reference differs from the union's by less than
``1/k + 1/(2N)`` (0.0005 + 1/(2N) with the default k = 2,000); the p-value uses the true
N. A verdict can differ only when the union's statistic lies within that of the
threshold. tests/monitor/test_summary.py checks it against ``scipy.stats.ks_2samp`` on
the union.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EXACT_LIMIT", "SKETCH_POINTS", "ColumnSummary", "ks_error_bound", "merged_cdf", "merged_sample"]

EXACT_LIMIT = 20_000  # values per column kept exactly (160 KB): a whole default window
SKETCH_POINTS = 2_000  # k: the KS error bound is 1/k (+ 1/2N)


@dataclass(frozen=True)
class ColumnSummary:
    count: int  # finite values summarised
    points: np.ndarray  # sorted: the values themselves (exact) or the k rank points
    exact: bool
    nulls: int = 0  # missing (NaN) values: the merged column carries them, as one process's would

    @classmethod
    def of(cls, values: np.ndarray, *, exact_limit: int = EXACT_LIMIT, points: int = SKETCH_POINTS) -> ColumnSummary:
        values = np.asarray(values, dtype=np.float64)
        finite = np.sort(values[np.isfinite(values)])
        nulls = int(values.size - finite.size)
        if finite.size <= exact_limit:
            return cls(int(finite.size), finite, True, nulls)
        ranks = np.ceil(np.arange(1, points + 1) * finite.size / points).astype(np.int64) - 1
        return cls(int(finite.size), finite[ranks], False, nulls)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "exact": self.exact, "points": self.points.tolist(), "nulls": self.nulls}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSummary:
        points = np.asarray(data["points"], dtype=np.float64)
        count, exact = int(data["count"]), bool(data["exact"])
        if (exact and points.size != count) or np.any(np.diff(points) < 0):
            raise ValueError("a column summary's points must be sorted, and all of them when exact")
        return cls(count, points, exact, int(data.get("nulls", 0)))


def _weighted_points(parts: Sequence[ColumnSummary]) -> tuple[np.ndarray, np.ndarray, int]:
    """Every part's points with the mass each stands for (sorted), and N."""
    parts = [p for p in parts if p.count and p.points.size]
    total = sum(p.count for p in parts)
    if not total:
        return np.empty(0), np.empty(0), 0
    values = np.concatenate([p.points for p in parts])
    mass = np.concatenate([np.full(p.points.size, p.count / total / p.points.size) for p in parts])
    order = np.argsort(values, kind="stable")
    return values[order], mass[order], total


def merged_cdf(parts: Sequence[ColumnSummary], x: np.ndarray) -> np.ndarray:
    """F̂(x): the count-weighted mixture of the parts' step CDFs."""
    values, mass, total = _weighted_points(parts)
    if not total:
        return np.zeros_like(np.asarray(x, dtype=np.float64))
    cumulative = np.concatenate([[0.0], np.cumsum(mass)])
    return np.minimum(1.0, cumulative[np.searchsorted(values, x, side="right")])


def merged_sample(parts: Sequence[ColumnSummary]) -> np.ndarray:
    """What the drift check is given for the union: the union itself when every part is exact, else
    N values whose ECDF follows the merged CDF (see the module's bound)."""
    parts = [p for p in parts if p.count]
    if all(p.exact for p in parts):
        return np.concatenate([p.points for p in parts]) if parts else np.empty(0)
    values, mass, total = _weighted_points(parts)
    cumulative = np.cumsum(mass)
    cumulative[-1] = 1.0  # rounding: the last point carries the top of the CDF
    probs = (np.arange(1, total + 1) - 0.5) / total
    return values[np.minimum(np.searchsorted(cumulative, probs, side="left"), values.size - 1)]


def ks_error_bound(parts: Sequence[ColumnSummary]) -> float:
    """How far the KS statistic on ``merged_sample(parts)`` may be from the union's (0 when exact)."""
    parts = [p for p in parts if p.count]
    if all(p.exact for p in parts):
        return 0.0
    k = min(p.points.size for p in parts if not p.exact)
    return 1.0 / k + 0.5 / sum(p.count for p in parts)
