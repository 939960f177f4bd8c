"""The reference profile: what the training data looked like, feature by feature.

Packaged with the model, it is what monitoring tests drift against and what input
validation checks requests against, so the training set itself never travels.
Continuous features keep quantiles (the CDF at 0.1% steps by default), a histogram,
moments and their range; categorical ones keep category frequencies. Both keep
the null rate. Pure numpy: chunks of columns in, a JSON-serialisable dict out.

Streaming. ``ProfileBuilder`` takes the data a chunk at a time, so a training set
of any size is profiled in bounded memory (about ``sample`` values per continuous
feature, plus one counter per category):

- pass 1 counts rows and nulls, merges moments chunk by chunk (Chan et al.),
  tracks min/max, counts categories, and keeps a deterministic uniform sample of
  each continuous feature (the ``sample`` values with the smallest random keys; the
  keys come from a seeded generator in row order, so the result does not depend on
  how the rows were chunked);
- if every continuous feature fit in its sample, the profile is exact (it equals
  ``numpy.quantile`` / ``numpy.histogram`` of the whole column) and we are done;
- otherwise pass 2 reads the data once more and counts every value into
  ``refine_bins`` bins whose edges are quantiles of the sample (so each bin holds
  about 1/refine_bins of the data, outliers or not) and into the display
  histogram. Quantiles are then read off the exact cumulative counts,
  interpolating linearly inside one bin: the rank error is at most one bin's mass
  (about 0.1% of the rows with the defaults). Min, max, mean, std, null rate,
  histogram counts and category frequencies are always exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["PROFILE_FORMAT", "ProfileBuilder", "build_profile", "profile_chunks"]

PROFILE_FORMAT = "mlpipex.profile/v1"
MAX_CATEGORIES = 100  # beyond this many distinct values the rest are pooled as "other"
# The CDF at 0.1% steps. Drift tests read the reference CDF off these quantiles, and
# a KS test on a million current rows resolves differences of about 0.002: with 1%
# steps (101 quantiles) the interpolation alone exceeded that and raised false alarms.
DEFAULT_QUANTILES = 1001
DEFAULT_SAMPLE = 32_768
DEFAULT_REFINE_BINS = 1024

Chunk = Mapping[str, np.ndarray]


def _is_null(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    return np.array([v is None or (isinstance(v, float) and np.isnan(v)) or v == "" for v in values.tolist()],
                    dtype=bool)  # fmt: skip


def _category(value: Any) -> str:
    """Categories are compared as text: 1, 1.0 and "1" from CSV are the same category."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Continuous:
    def __init__(self, sample: int, seed: int) -> None:
        self.count = self.nulls = self.n = 0
        self.mean = self.m2 = 0.0
        self.min, self.max = np.inf, -np.inf
        self._capacity = sample
        self._rng = np.random.default_rng(seed)
        self._keys = np.empty(0)
        self._values = np.empty(0)
        self.edges: np.ndarray | None = None  # pass 2: refinement edges (quantiles of the sample)
        self.atoms = self.opens = np.zeros(0, dtype=np.int64)
        self.hist_edges: np.ndarray | None = None
        self.hist: np.ndarray | None = None

    def update(self, values: np.ndarray) -> None:
        nulls = _is_null(values)
        self.count += int(values.size)
        self.nulls += int(nulls.sum())
        data = values[~nulls].astype(np.float64)
        keys = self._rng.random(values.size)[~nulls]  # one key per row: chunking-invariant
        if data.size == 0:
            return
        # Chan et al.: merge this chunk's mean and sum of squares into the running ones.
        n_b, mean_b = data.size, float(data.mean())
        m2_b = float(((data - mean_b) ** 2).sum())
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n
        self.min, self.max = min(self.min, float(data.min())), max(self.max, float(data.max()))
        keys, data = np.concatenate([self._keys, keys]), np.concatenate([self._values, data])
        if keys.size > self._capacity:
            keep = np.argpartition(keys, self._capacity - 1)[: self._capacity]
            keys, data = keys[keep], data[keep]
        self._keys, self._values = keys, data

    @property
    def exact(self) -> bool:
        """Every present value is in the sample."""
        return self.n <= self._capacity

    def start_refinement(self, refine_bins: int, bins: int) -> None:
        edges = np.quantile(self._values, np.linspace(0, 1, refine_bins + 1))
        self.edges = np.unique(np.concatenate([[self.min], edges, [self.max]]))
        # Each edge is also a possible point mass (many zeros, a default value...):
        # atoms[i] counts values equal to edges[i], opens[i] those strictly between
        # edges[i] and edges[i + 1].
        self.atoms = np.zeros(self.edges.size, dtype=np.int64)
        self.opens = np.zeros(self.edges.size - 1, dtype=np.int64)
        self.hist_edges = np.histogram_bin_edges(np.array([self.min, self.max]), bins=bins)
        self.hist = np.zeros(bins, dtype=np.int64)

    def refine(self, values: np.ndarray) -> None:
        assert self.edges is not None and self.hist is not None and self.hist_edges is not None
        data = values[~_is_null(values)].astype(np.float64)
        pos = np.searchsorted(self.edges, data, side="left")
        on_edge = self.edges[np.minimum(pos, self.edges.size - 1)] == data
        self.atoms += np.bincount(pos[on_edge], minlength=self.edges.size)
        if self.opens.size:
            self.opens += np.bincount(pos[~on_edge] - 1, minlength=self.opens.size)
        self.hist += np.histogram(data, bins=self.hist_edges)[0]

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        if self.exact:
            return np.quantile(self._values, probs)
        assert self.edges is not None
        # numpy's default ("linear"): the value at rank p*(n-1) among the sorted values.
        # Segments in order: atom 0, open 0, atom 1, open 1, ..., last atom; inside an
        # open segment the values are taken as evenly spread.
        masses = np.zeros(2 * self.edges.size - 1, dtype=np.int64)
        masses[0::2], masses[1::2] = self.atoms, self.opens
        starts = np.concatenate([[0], np.cumsum(masses)[:-1]])
        ranks = probs * (self.n - 1)
        seg = np.searchsorted(np.cumsum(masses), ranks, side="right")
        seg = np.clip(seg, 0, masses.size - 1)
        i = seg // 2
        values = self.edges[i].astype(np.float64)
        open_seg = seg % 2 == 1
        if open_seg.any():
            k = i[open_seg]
            frac = (ranks[open_seg] - starts[seg[open_seg]] + 0.5) / masses[seg[open_seg]]
            values[open_seg] = self.edges[k] + np.clip(frac, 0, 1) * (self.edges[k + 1] - self.edges[k])
        values[0], values[-1] = self.min, self.max  # the ends are known exactly
        return np.maximum.accumulate(values)

    def result(self, probs: np.ndarray, bins: int) -> dict[str, Any]:
        base = _base(self.count, self.nulls)
        if self.n == 0:
            return {"kind": "continuous", **base, "min": None, "max": None, "mean": None, "std": None,
                    "quantiles": None, "histogram": None}  # fmt: skip
        if self.exact:
            counts, edges = np.histogram(self._values, bins=bins)
        else:
            assert self.hist is not None and self.hist_edges is not None
            counts, edges = self.hist, self.hist_edges
        return {
            "kind": "continuous",
            **base,
            "min": self.min,
            "max": self.max,
            # Exact case: numpy on the whole column (in row order), whatever the chunking.
            "mean": float(self._values.mean()) if self.exact else self.mean,
            "std": float(self._values.std(ddof=1) if self.exact else np.sqrt(self.m2 / (self.n - 1)))
            if self.n > 1 else 0.0,
            "quantiles": {"probs": [round(float(p), 6) for p in probs],
                          "values": [float(v) for v in self.quantiles(probs)]},
            "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
            **({} if self.exact else {"approximate": {"sample": self._capacity, "bins": int(self.opens.size)}}),
        }


class _Categorical:
    def __init__(self) -> None:
        self.count = self.nulls = 0
        self.counts: Counter[str] = Counter()

    def update(self, values: np.ndarray) -> None:
        nulls = _is_null(values)
        self.count += int(values.size)
        self.nulls += int(nulls.sum())
        present = values[~nulls]
        if present.dtype.kind in "iufb":  # count numbers before turning the few distinct ones into text
            uniques, counts = np.unique(present, return_counts=True)
            for value, n in zip(uniques.tolist(), counts.tolist()):
                self.counts[_category(value)] += n
        else:
            self.counts.update(_category(v) for v in present.tolist())

    def result(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]
        kept = sum(n for _, n in top)
        return {
            "kind": "categorical",
            **_base(self.count, self.nulls),
            "frequencies": {k: n / total for k, n in sorted(top)} if total else {},
            "other": (total - kept) / total if total else 0.0,
            "distinct": len(self.counts),
        }


def _base(count: int, nulls: int) -> dict[str, Any]:
    return {"count": count, "nulls": nulls, "null_rate": nulls / count if count else 0.0}


class ProfileBuilder:
    """Profile columns given a chunk at a time (see the module docstring for the two passes).

    A feature is categorical when listed in ``categorical`` or when its first
    non-empty chunk is not numeric; a numeric feature that later shows text is an
    error (``ValueError`` naming the feature), not a silent change of kind.
    """

    def __init__(
        self,
        features: Iterable[str],
        *,
        categorical: Iterable[str] = (),
        quantiles: int = DEFAULT_QUANTILES,
        bins: int = 20,
        sample: int = DEFAULT_SAMPLE,
        refine_bins: int = DEFAULT_REFINE_BINS,
        seed: int = 0,
    ) -> None:
        self.features = list(features)
        self._declared = set(categorical)
        self._probs = np.linspace(0, 1, quantiles)
        self._bins, self._sample, self._refine_bins, self._seed = bins, sample, refine_bins, seed
        self._stats: dict[str, _Continuous | _Categorical] = {}
        self.rows = 0
        self._refining = False

    def update(self, chunk: Chunk) -> None:
        """Pass 1: one chunk of rows (each feature a 1-D array of the same length)."""
        if self._refining:
            raise RuntimeError("update() after start of pass 2")
        missing = [name for name in self.features if name not in chunk]
        if missing:
            raise ValueError(f"the data lacks feature columns: {', '.join(missing)}")
        lengths = {int(np.asarray(chunk[name]).size) for name in self.features}
        if len(lengths) > 1:
            raise ValueError("the columns of a chunk differ in length")
        self.rows += lengths.pop() if lengths else 0
        for index, name in enumerate(self.features):
            values = np.asarray(chunk[name])
            stats = self._stats.get(name)
            if stats is None:
                if values.size == 0:
                    continue
                numeric = values.dtype.kind in "iufb"
                stats = _Categorical() if name in self._declared or not numeric else \
                    _Continuous(self._sample, self._seed + index)  # fmt: skip
                self._stats[name] = stats
            if isinstance(stats, _Continuous) and values.dtype.kind not in "iufb":
                try:
                    values = np.array([np.nan if v is None or v == "" else float(v) for v in values.tolist()])
                except (TypeError, ValueError):
                    raise ValueError(f"feature `{name}` holds text after numeric rows; "
                                     "list it under data.categorical if it is a category") from None  # fmt: skip
            stats.update(values)

    @property
    def needs_second_pass(self) -> bool:
        return any(isinstance(s, _Continuous) and not s.exact for s in self._stats.values())

    def refine(self, chunk: Chunk) -> None:
        """Pass 2 (only when ``needs_second_pass``): the same rows once more, in any chunking."""
        if not self._refining:
            for stats in self._stats.values():
                if isinstance(stats, _Continuous) and not stats.exact:
                    stats.start_refinement(self._refine_bins, self._bins)
            self._refining = True
        for name, stats in self._stats.items():
            if isinstance(stats, _Continuous) and not stats.exact:
                values = np.asarray(chunk[name])
                if values.dtype.kind not in "iufb":
                    values = np.array([np.nan if v is None or v == "" else float(v) for v in values.tolist()])
                stats.refine(values)

    def result(self) -> dict[str, Any]:
        if self.needs_second_pass and not self._refining:
            raise RuntimeError("this profile needs a second pass over the data (refine) first")
        features: dict[str, Any] = {}
        for name in self.features:
            stats = self._stats.get(name)
            if stats is None:  # no rows at all
                stats = _Categorical() if name in self._declared else _Continuous(1, 0)
            features[name] = stats.result(self._probs, self._bins) if isinstance(stats, _Continuous) \
                else stats.result()  # fmt: skip
        return {"format": PROFILE_FORMAT, "rows": self.rows, "features": features}


def profile_chunks(
    chunks: Callable[[], Iterable[Chunk]],
    features: Iterable[str],
    *,
    categorical: Iterable[str] = (),
    **options: Any,
) -> dict[str, Any]:
    """Profile data read by ``chunks()`` (called once, or twice when a second pass is needed)."""
    builder = ProfileBuilder(features, categorical=categorical, **options)
    for chunk in chunks():
        builder.update(chunk)
    if builder.needs_second_pass:
        for chunk in chunks():
            builder.refine(chunk)
    return builder.result()


def build_profile(
    columns: Chunk,
    features: Iterable[str],
    *,
    categorical: Iterable[str] = (),
    quantiles: int = DEFAULT_QUANTILES,
) -> dict[str, Any]:
    """Profile columns already in memory (one chunk)."""
    return profile_chunks(lambda: [columns], features, categorical=categorical, quantiles=quantiles)
