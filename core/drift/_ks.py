"""Two-sample Kolmogorov–Smirnov test: the statistic and its two-sided p-value.

Statistic and p-value equal ``scipy.stats.ks_2samp(a, b)`` (method "auto",
two-sided) to within 1e-9, without importing ``scipy.stats``:

- D = sup |F_a - F_b| over the pooled values, ties included. Both samples are
  sorted (the reference once per ``Reference``, then reused), merged by a stable
  argsort of the two runs, and the ECDFs compared after each distinct value;
- when both samples have at most 10,000 values, the exact p-value: D is first
  rounded to the lattice h / lcm(n1, n2), and P(D >= d) is the probability that a
  uniformly random monotone lattice path from (0, 0) to (n1, n2) leaves the band
  |n2 x - n1 y| < h gcd(n1, n2). It is computed by a recurrence on anti-diagonals
  over the band only, for a block of columns at once;
- otherwise the asymptotic p-value P(D_N >= d) with N = round(n1 n2 / (n1 + n2))
  from the one-sample distribution (``_kolmogorov``).

``ks_from_cdf`` is the same test when the reference is only known through a
(piecewise-linear) CDF, i.e. a quantile sketch in a packaged profile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from mlpipex.drift._kolmogorov import kolmogorov_sf

__all__ = ["EXACT_MAX_N", "ks_2samp", "ks_pvalue", "ks_pvalues", "ks_statistic", "ks_statistic_cdf"]

EXACT_MAX_N = 10_000  # scipy's "auto" switch: exact when both samples are at most this size


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of two samples, as ``scipy.stats.ks_2samp(a, b)`` (NaN-free, non-empty)."""
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        raise ValueError("ks_2samp needs two non-empty samples")
    return ks_pvalue(ks_statistic(a, b), a.size, b.size)


def ks_statistic(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """sup |F_ref - F_cur| for two sorted samples without NaN (both non-empty)."""
    n1, n2 = ref_sorted.size, cur_sorted.size
    pooled = np.concatenate([ref_sorted, cur_sorted])
    # A stable argsort of two sorted runs is a merge (timsort finds the runs): linear time,
    # and much faster than a binary search per value. Positions >= n1 came from the current sample.
    order = np.argsort(pooled, kind="stable")
    count_type = np.int32 if n1 + n2 < 2**31 // max(n1, n2, 1) else np.int64
    current_seen = np.cumsum(order >= n1, dtype=count_type)
    merged = pooled[order]
    # n1 * n2 * (F_ref - F_cur) after position i is (i + 1) * n2 - current_seen[i] * (n1 + n2): exact integers.
    scaled = current_seen * count_type(-(n1 + n2))
    scaled += np.arange(n2, (n1 + n2) * n2 + 1, n2, dtype=count_type)[: n1 + n2]
    tied = merged[1:] == merged[:-1]
    if tied.any():  # compare the ECDFs only after the last copy of each value: ties move together
        scaled = scaled[np.append(~tied, True)]
    top = max(int(scaled.max()), -int(scaled.min()), 0)
    return min(top / (float(n1) * n2), 1.0)


def ks_statistic_cdf(cdf: Callable[[np.ndarray, bool], np.ndarray], cur_sorted: np.ndarray) -> float:
    """sup |F_ref - F_cur| when F_ref is a continuous-between-knots CDF (``cdf(x, left)``).

    F_cur is a step function and F_ref is monotone between its steps, so the sup is
    reached at a step, from the right (F_ref(v) - F_cur(v)) or the left (F_ref(v-) - F_cur(v-)).
    """
    n = cur_sorted.size
    last = np.flatnonzero(np.append(cur_sorted[1:] != cur_sorted[:-1], True))
    values = cur_sorted[last]
    right = cdf(values, False) - (last + 1) / n
    first = np.concatenate([[0], last[:-1] + 1])
    left = cdf(values, True) - first / n
    return float(min(max(np.abs(right).max(), np.abs(left).max()), 1.0))


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) as scipy reports them: exact mode rounds d to the lattice."""
    return ks_pvalues(np.array([d]), n1, n2)[0]


def ks_pvalues(ds: Sequence[float] | np.ndarray, n1: int, n2: int) -> list[tuple[float, float]]:
    """(statistic, p-value) for several statistics sharing the sample sizes n1, n2."""
    ds = np.asarray(ds, dtype=np.float64)
    if max(n1, n2) > EXACT_MAX_N:
        big, small = max(n1, n2), min(n1, n2)
        n = int(np.round(float(big) * small / (big + small)))
        return [(float(d), kolmogorov_sf(n, float(d))) for d in ds]
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    hs = np.round(ds * lcm).astype(np.int64)
    out: list[tuple[float, float]] = [(float(h) / lcm, 1.0) for h in hs]
    todo = np.flatnonzero(hs > 0)
    if todo.size:
        probs = _exact_outside(n1, n2, hs[todo])
        for index, p in zip(todo.tolist(), probs.tolist()):
            out[index] = (out[index][0], min(max(p, 0.0), 1.0))
    return out


def _exact_outside(m: int, n: int, hs: np.ndarray) -> np.ndarray:
    """P(a uniform lattice path (0,0) -> (m,n) touches |ng x - mg y| >= h), for each h in ``hs``.

    v(x, y) = P(the path has left the band by (x, y) | it passes (x, y)). Outside the
    band v = 1; inside, v(x, y) = x/(x+y) v(x-1, y) + y/(x+y) v(x, y-1), since a
    uniform path through (x, y) came from (x-1, y) with probability x/(x+y). All
    values stay in [0, 1] (no binomial coefficients, no overflow). We sweep the
    anti-diagonals x + y = k, keeping only a window of each that covers the widest
    band (all bands share the centre line, so one window serves every h); cells
    beyond the window, or outside a row's own band, are 1.
    """
    g = math.gcd(m, n)
    mg, ng = m // g, n // g
    s = mg + ng
    hs = hs.astype(np.int64)
    h_max = int(hs.max())
    width = (2 * h_max) // s + 3
    cols = np.arange(width)
    limits = hs[:, None]

    def window_start(k: int) -> int:
        # the smallest x with ng*x - mg*(k - x) > -h_max, i.e. x > (mg k - h_max) / s
        return (mg * k - h_max) // s + 1

    start = window_start(0)
    v = np.where(start + cols == 0, 0.0, 1.0)[None, :].repeat(hs.size, axis=0)
    padded = np.ones((hs.size, width + 2))
    scols = s * cols
    blocked = np.empty((hs.size, width), dtype=bool)
    for k in range(1, m + n + 1):
        new_start = window_start(k)
        shift = new_start - start  # 0 or 1: the band moves right by mg/s per diagonal
        padded[:, 1:-1] = v
        # |ng x - mg y| with y = k - x is |s x - mg k|; off-lattice cells count as outside
        distance = np.abs(scols + (s * new_start - mg * k))
        distance[: max(0, max(0, k - n) - new_start)] = h_max
        distance[max(0, min(k, m) - new_start + 1):] = h_max
        x = new_start + cols
        # v(x-1, y) sits at padded index x-1-start+1, v(x, y-1) at x-start+1
        np.multiply(padded[:, shift:shift + width], x / k, out=v)
        v += padded[:, shift + 1:shift + 1 + width] * ((k - x) / k)
        np.greater_equal(distance, limits, out=blocked)
        v[blocked] = 1.0
        start = new_start
    return v[:, m - start].copy()
