"""What the reference data looked like, per feature: raw values or a packaged profile.

From raw columns a continuous feature keeps its sorted non-null values (exact KS,
sorted once and reused by every test). From a packaged profile
("mlpipex.profile/v1", see mlpipex.stats.profile) it keeps the quantile sketch
(1,001 quantiles by default) and the count, so a training set of any size never
has to be in memory.

The CDF of a sketch. Between two consecutive quantiles q_j < q_{j+1} the reference
CDF is taken as linear from p_j to p_{j+1} (the data spread evenly inside each
bin); a run of equal quantiles is a point mass (the CDF jumps from the first to
the last of their probabilities). The true ECDF of the reference lies within one
bin's mass (0.001 with 1,001 quantiles) plus 1/n of this curve (plus the sketch's
own rank error for a streamed profile, under 0.005% measured), so the KS statistic
against a profile is within that of the raw-data one (bounded in
tests/drift/test_reference.py); for smooth distributions it is far closer. The
p-value uses n = the profile's count. The resolution matters once the current
sample is large: a KS test on n rows resolves differences of about 1.36/sqrt(n),
0.0014 at a million rows; beyond a few million current rows, profile more
quantiles (or compare against raw reference data).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from mlpipex.errors import InputError
from mlpipex.stats.profile import PROFILE_FORMAT

__all__ = [
    "CategoricalReference",
    "ContinuousReference",
    "FeatureReference",
    "Reference",
    "categorical_counts",
    "column_pool",
    "numeric_values",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class ContinuousReference:
    count: int  # rows, nulls included
    nulls: int
    sorted_values: np.ndarray | None = None  # raw reference: sorted, no NaN
    quantile_probs: np.ndarray | None = None  # profile reference: the sketch
    quantile_values: np.ndarray | None = None
    kind: Literal["continuous"] = "continuous"

    @property
    def n(self) -> int:
        """Non-null values."""
        return self.count - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else 0.0

    @property
    def exact(self) -> bool:
        return self.sorted_values is not None

    def cdf(self, x: np.ndarray, left: bool = False) -> np.ndarray:
        """F(x) (right-continuous), or F(x-) when ``left``; piecewise linear for a sketch."""
        if self.sorted_values is not None:
            side: Literal["left", "right"] = "left" if left else "right"
            return np.searchsorted(self.sorted_values, x, side=side) / max(self.sorted_values.size, 1)
        assert self.quantile_probs is not None and self.quantile_values is not None
        q, p = self.quantile_values, self.quantile_probs
        j = np.searchsorted(q, x, side="left" if left else "right")  # first knot >= x (left) / > x (right)
        inner = np.clip(j, 1, q.size - 1)
        q0, q1, p0, p1 = q[inner - 1], q[inner], p[inner - 1], p[inner]
        span = np.where(q1 > q0, q1 - q0, 1.0)
        value = p0 + (p1 - p0) * np.clip((x - q0) / span, 0.0, 1.0)
        return np.where(j == 0, 0.0, np.where(j == q.size, 1.0, value))

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        if self.sorted_values is not None:
            return np.quantile(self.sorted_values, probs)
        assert self.quantile_probs is not None and self.quantile_values is not None
        return np.interp(probs, self.quantile_probs, self.quantile_values)

    def bin_shares(self, edges: np.ndarray) -> np.ndarray:
        """Reference shares of (-inf, e0], (e0, e1], ..., (e_last, inf)."""
        cumulative = self.cdf(edges)
        return np.diff(np.concatenate([[0.0], cumulative, [1.0]]))


@dataclass(frozen=True)
class CategoricalReference:
    count: int
    nulls: int
    frequencies: dict[str, float] = field(default_factory=dict)  # share of non-null values
    other: float = 0.0  # share pooled beyond the profile's category limit
    kind: Literal["categorical"] = "categorical"

    @property
    def n(self) -> int:
        return self.count - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else 0.0


FeatureReference = ContinuousReference | CategoricalReference


@dataclass(frozen=True)
class Reference:
    """Per-feature reference distributions, in feature order."""

    features: dict[str, FeatureReference]
    source: Literal["columns", "profile"] = "columns"

    @property
    def rows(self) -> int:
        return max((f.count for f in self.features.values()), default=0)

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, np.ndarray], categorical: Collection[str] = (), *, workers: int | None = None
    ) -> Reference:
        """Raw reference columns (1-D arrays); features not in ``categorical`` are continuous.

        Columns are prepared in ``workers`` threads (see ``detect_drift``).
        """

        def prepare(item: tuple[str, np.ndarray]) -> tuple[str, FeatureReference]:
            name, values = item[0], np.asarray(item[1])
            if name in categorical:
                counts, nulls = categorical_counts(values, name)
                total = sum(counts.values())
                frequencies = {k: c / total for k, c in sorted(counts.items())} if total else {}
                return name, CategoricalReference(count=values.size, nulls=nulls, frequencies=frequencies)
            present = numeric_values(values, name)
            return name, ContinuousReference(count=values.size, nulls=values.size - present.size,
                                             sorted_values=np.sort(present))  # fmt: skip

        size = sum(int(np.asarray(c).size) for c in columns.values())
        with column_pool(workers, size) as pool:
            features = dict(pool.map(prepare, columns.items()))
        return cls(features=features, source="columns")

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> Reference:
        """A packaged reference profile (format "mlpipex.profile/v1")."""
        if not isinstance(profile, Mapping) or profile.get("format") != PROFILE_FORMAT:
            found = profile.get("format") if isinstance(profile, Mapping) else type(profile).__name__
            raise InputError(f"not a reference profile (format {found!r}, expected {PROFILE_FORMAT!r})",
                             fix="give the profile.json of a package built by `mlpipex package`")  # fmt: skip
        entries = profile.get("features")
        if not isinstance(entries, Mapping) or not entries:
            raise InputError("the reference profile lists no features")
        features: dict[str, FeatureReference] = {}
        for name, entry in entries.items():
            try:
                features[str(name)] = _feature_from_profile(entry)
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"reference profile: feature `{name}` is malformed ({exc})") from None
        return cls(features=features, source="profile")


def _feature_from_profile(entry: Mapping[str, Any]) -> FeatureReference:
    count, nulls = int(entry["count"]), int(entry["nulls"])
    if entry["kind"] == "categorical":
        frequencies = {str(k): float(v) for k, v in dict(entry["frequencies"]).items()}
        return CategoricalReference(count=count, nulls=nulls, frequencies=frequencies,
                                    other=float(entry.get("other") or 0.0))  # fmt: skip
    if entry["kind"] != "continuous":
        raise ValueError(f"unknown kind {entry['kind']!r}")
    sketch = entry.get("quantiles")
    if not sketch or count - nulls == 0:
        return ContinuousReference(count=count, nulls=nulls, quantile_probs=np.array([0.0, 1.0]),
                                   quantile_values=np.array([0.0, 0.0]))  # fmt: skip
    probs = np.asarray(sketch["probs"], dtype=np.float64)
    values = np.maximum.accumulate(np.asarray(sketch["values"], dtype=np.float64))
    if probs.size < 2 or probs.size != values.size or probs[0] != 0.0 or probs[-1] != 1.0:
        raise ValueError("quantiles must run from probability 0 to 1")
    return ContinuousReference(count=count, nulls=nulls, quantile_probs=probs, quantile_values=values)


# -- column normalisation (shared by reference and current data) -----------------

PARALLEL_FROM = 1_000_000  # values; below this, threads cost more than they save


class _Serial:
    """The ``map`` of an executor, run in the calling thread."""

    def map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[_R]:
        return map(fn, items)


@contextmanager
def column_pool(workers: int | None, values: int) -> Iterator[_Serial | ThreadPoolExecutor]:
    """Threads for per-column work: ``workers`` of them, or by default one per CPU (up to 4)
    when there are at least a million values."""
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if values >= PARALLEL_FROM else 1
    if workers <= 1:
        yield _Serial()
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlpipex-drift") as pool:
        yield pool



def numeric_values(values: np.ndarray, name: str) -> np.ndarray:
    """Non-null values of a continuous feature as float64 (None, "" and NaN are null)."""
    if values.dtype.kind in "iub":
        return values.astype(np.float64)
    if values.dtype.kind == "f":
        data = values.astype(np.float64, copy=False)
        return data[~np.isnan(data)]
    out = []
    for v in values.tolist():
        if v is None or v == "":
            continue
        try:
            number = float(v)
        except (TypeError, ValueError):
            raise InputError(f"feature `{name}` is continuous in the reference but holds text ({v!r})",
                             fix="list it as categorical (data.categorical), or fix the column") from None  # fmt: skip
        if number == number:
            out.append(number)
    return np.array(out, dtype=np.float64)


def _category(value: Any) -> str:
    # As in the profile: 1, 1.0 and "1" (read from CSV) are the same category.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def categorical_counts(values: np.ndarray, name: str = "") -> tuple[Counter[str], int]:
    """(count per category as text, null count) of a categorical column."""
    counts: Counter[str] = Counter()
    if values.dtype.kind in "iufb":
        data = values[~np.isnan(values)] if values.dtype.kind == "f" else values
        uniques, n = np.unique(data, return_counts=True)
        for value, c in zip(uniques.tolist(), n.tolist()):
            counts[_category(value)] += c
        return counts, int(values.size - data.size)
    nulls = 0
    for value, c in Counter(values.tolist()).items():
        if value is None or value == "" or (isinstance(value, float) and value != value):
            nulls += c
        else:
            counts[_category(value)] += c
    return counts, nulls
