"""Two-sample Kolmogorov–Smirnov test: the statistic and its two-sided p-value.

Statistic and p-value equal ``scipy.stats.ks_2samp(a, b)`` (method "auto",
two-sided): D exactly (in integers), the p-value to a relative 1e-9, without scipy:

- D = sup |F_a - F_b| over the pooled values, ties included. Both samples are
  sorted (the reference once per ``Reference``, then reused); the ECDFs are
  compared after each distinct value, merging only the value ranges that can hold
  the maximum (``ks_statistic``);
- when both samples have at most 10,000 values, the exact p-value: D is first
  rounded to the lattice h / lcm(n1, n2), and P(D >= d) is the probability that a
  uniformly random monotone lattice path from (0, 0) to (n1, n2) leaves the band
  |n2 x - n1 y| < h gcd(n1, n2). Equal sizes: the reflection formula (a sum of
  binomial ratios). Otherwise, with scipy installed, scipy's own compiled band loop
  (``_scipy_band``: its p-value bit for bit, at its speed); without scipy, the same
  recursion on anti-diagonals over the band only, for several h at once (m + n numpy
  steps: 4-10x slower than the compiled loop, equal to a relative 1e-9);
- otherwise the asymptotic p-value P(D_N >= d) with N = round(n1 n2 / (n1 + n2))
  from the one-sample distribution (``_kolmogorov``).

``ks_from_cdf`` is the same test when the reference is only known through a
(piecewise-linear) CDF, i.e. a quantile sketch in a packaged profile.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mlpipex.drift._kolmogorov import kolmogorov_sf
from mlpipex.drift._scipy_band import band_outside

__all__ = ["EXACT_MAX_N", "ks_2samp", "ks_pvalue", "ks_pvalues", "ks_statistic", "ks_statistic_cdf"]

EXACT_MAX_N = 10_000  # scipy's "auto" switch: exact when both samples are at most this size


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of two samples, as ``scipy.stats.ks_2samp(a, b)`` (NaN-free, non-empty)."""
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        raise ValueError("ks_2samp needs two non-empty samples")
    return ks_pvalue(ks_statistic(a, b), a.size, b.size)


def ks_statistic(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """sup |F_ref - F_cur| for two sorted samples without NaN (both non-empty).

    Computed in exact integers: n1 * n2 * (F_ref - F_cur) = count_ref * n2 - count_cur * n1.
    Large samples are first cut at every ``_BLOCK``-th (256th) value of either sample (distinct
    values only); the counts at and below each edge (binary searches of ~2n/256 values)
    give the difference at the edges, a lower bound on D, and bound it strictly between
    two edges. Only the gaps whose bound exceeds the lower bound are merged value by value:
    typically a few % of the data, so D costs ~2-3 ms at a million values instead of a
    full merge (~25 ms, more than the sort itself).
    """
    n1, n2 = ref_sorted.size, cur_sorted.size
    if n1 + n2 <= 16 * _BLOCK:
        return _scaled_extreme(ref_sorted, cur_sorted, np.zeros(1, np.int64), np.zeros(1, np.int64),
                               np.array([n1]), np.array([n2]), n1, n2) / (float(n1) * n2)  # fmt: skip
    edges = np.unique(np.concatenate([ref_sorted[::_BLOCK], cur_sorted[::_BLOCK]]))
    ref_below = np.searchsorted(ref_sorted, edges, side="left").astype(np.int64)
    cur_below = np.searchsorted(cur_sorted, edges, side="left").astype(np.int64)
    ref_upto = np.searchsorted(ref_sorted, edges, side="right").astype(np.int64)
    cur_upto = np.searchsorted(cur_sorted, edges, side="right").astype(np.int64)
    # the difference just left of each edge and at it: values D is the maximum of
    best = max(int(np.abs(ref_below * n2 - cur_below * n1).max()), int(np.abs(ref_upto * n2 - cur_upto * n1).max()))
    ref_next = np.append(ref_below[1:], n1)
    cur_next = np.append(cur_below[1:], n2)
    # strictly between two edges each count lies between its values at them
    bound = np.maximum(ref_next * n2 - cur_upto * n1, cur_next * n1 - ref_upto * n2)
    open_blocks = np.flatnonzero(bound > best)
    if open_blocks.size:
        lo_ref, lo_cur = ref_upto[open_blocks], cur_upto[open_blocks]
        best = max(best, _scaled_extreme(ref_sorted, cur_sorted, lo_ref, lo_cur, ref_next[open_blocks] - lo_ref,
                                         cur_next[open_blocks] - lo_cur, n1, n2))  # fmt: skip
    return min(best / (float(n1) * n2), 1.0)


_BLOCK = 256  # values of each sample between block edges: the fastest at 1M (64: 2x slower, 1024: 8x)


def _scaled_extreme(ref_sorted: np.ndarray, cur_sorted: np.ndarray, ref_start: np.ndarray, cur_start: np.ndarray,
                    ref_len: np.ndarray, cur_len: np.ndarray, n1: int, n2: int) -> int:  # fmt: skip
    """max |count_ref * n2 - count_cur * n1| over the values of the given blocks.

    Block b holds ref_sorted[ref_start[b]:][:ref_len[b]] and the same of cur_sorted;
    blocks are disjoint value ranges in increasing order, so all their reference values
    form one sorted run and their current values another. A stable argsort of the two
    runs is a merge (timsort finds the runs), reference values first among ties.
    """
    ref_index = _ranges(ref_start, ref_len)
    cur_index = _ranges(cur_start, cur_len)
    pooled = np.concatenate([ref_sorted[ref_index], cur_sorted[cur_index]])
    order = np.argsort(pooled, kind="stable")
    merged = pooled[order]
    block_of = np.concatenate([np.repeat(np.arange(ref_len.size), ref_len),
                               np.repeat(np.arange(cur_len.size), cur_len)])[order]  # fmt: skip
    # counts at each merged position: the block's counts below it plus what the merge has seen in it
    cur_seen = np.cumsum(order >= ref_index.size, dtype=np.int64)
    ref_seen = np.arange(1, merged.size + 1, dtype=np.int64) - cur_seen
    ref_offset = ref_start - (np.cumsum(ref_len) - ref_len)  # count below the block minus earlier blocks' share
    cur_offset = cur_start - (np.cumsum(cur_len) - cur_len)
    scaled = (ref_seen + ref_offset[block_of]) * n2 - (cur_seen + cur_offset[block_of]) * n1
    tied = merged[1:] == merged[:-1]
    if tied.any():  # compare the ECDFs only after the last copy of each value: ties move together
        scaled = scaled[np.append(~tied, True)]
    return int(np.abs(scaled).max()) if scaled.size else 0


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + l) for each (s, l)."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if ends.size else 0) + np.repeat(starts - (ends - lengths), lengths)


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


def ks_pvalues(ds: Sequence[float] | np.ndarray, n1: int, n2: int, *,
               workers: int | None = None) -> list[tuple[float, float]]:  # fmt: skip
    """(statistic, p-value) for several statistics sharing the sample sizes n1, n2.

    With scipy's compiled loop, distinct statistics run in ``workers`` threads (it
    releases the GIL); by default one per CPU, up to 4.
    """
    ds = np.asarray(ds, dtype=np.float64)
    if max(n1, n2) > EXACT_MAX_N:
        big, small = max(n1, n2), min(n1, n2)
        n = int(np.round(float(big) * small / (big + small)))
        return [(float(d), kolmogorov_sf(n, float(d))) for d in ds]
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    hs = np.round(ds * lcm).astype(np.int64)
    out: list[tuple[float, float]] = [(float(h) / lcm, 1.0) for h in hs]
    distinct = np.unique(hs[hs > 0])  # features that did not drift often share their h
    if distinct.size:
        probs = dict(zip(distinct.tolist(), _exact_outside_probs(n1, n2, distinct, workers).tolist()))
        for index, h in enumerate(hs.tolist()):
            if h > 0:
                out[index] = (out[index][0], min(max(probs[h], 0.0), 1.0))
    return out


def _exact_outside_probs(n1: int, n2: int, hs: np.ndarray, workers: int | None) -> np.ndarray:
    """P(D >= h / lcm) for each (distinct, positive) h: the fastest method that equals scipy's."""
    if n1 == n2:
        return _exact_outside_square(n1, hs)
    compiled = band_outside()
    if compiled is None:
        return _exact_outside(n1, n2, hs)
    # scipy's own p-value (what its ks_2samp calls), 4-10x faster than our numpy sweep
    g = math.gcd(n1, n2)
    threads = min(_MAX_THREADS if workers is None else workers, os.cpu_count() or 1, hs.size)
    if threads <= 1:
        return np.array([compiled(n1, n2, g, h) for h in hs.tolist()], dtype=np.float64)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlpipex-ks") as pool:
        # widest band (largest h) first: the slowest ones start early
        largest_first = list(pool.map(lambda h: compiled(n1, n2, g, h), hs.tolist()[::-1]))
    return np.array(largest_first[::-1], dtype=np.float64)


_MAX_THREADS = 4  # as the drift column pool


def _exact_outside_square(n: int, hs: np.ndarray) -> np.ndarray:
    """P(a uniform lattice path (0,0) -> (n,n) touches |x - y| >= h), for each h: by reflection.

    P = 2 * sum_{k>=1} (-1)^(k+1) C(2n, n - k h) / C(2n, n) (what scipy's
    ``_compute_prob_outside_square`` evaluates in a Python loop). The ratios
    C(2n, n - i) / C(2n, n) are one cumulative product of (n - i) / (n + i + 1), shared by
    every h; they fall fast with k, so the alternating sum keeps its relative precision.
    """
    ratios = np.cumprod((n - np.arange(n, dtype=np.float64)) / (n + 1 + np.arange(n, dtype=np.float64)))
    out = np.empty(hs.size)
    for index, h in enumerate(hs.tolist()):
        terms = ratios[np.arange(h, n + 1, h) - 1]
        terms[1::2] *= -1.0
        out[index] = 2.0 * float(terms[::-1].sum())  # smallest first
    return out


def _exact_outside(m: int, n: int, hs: np.ndarray) -> np.ndarray:
    """P(a uniform lattice path (0,0) -> (m,n) touches |ng x - mg y| >= h), for each h in ``hs``.

    v(x, y) = P(the path has left the band by (x, y) | it passes (x, y)). Outside the
    band v = 1; inside, v(x, y) = x/(x+y) v(x-1, y) + y/(x+y) v(x, y-1), since a
    uniform path through (x, y) came from (x-1, y) with probability x/(x+y) (scipy's
    compiled loop is the same recursion, Viehmann 2021). All values stay in [0, 1]
    (no binomial coefficients, no overflow), and each is a convex combination of
    earlier ones: small p-values keep their relative precision. We sweep the
    anti-diagonals x + y = k, keeping only a window of each that covers the widest
    band (all bands share the centre line, so one window serves every h); cells
    beyond the window, or outside a row's own band, are 1. Two buffers with borders of
    1 take turns (no copy per diagonal); with one h the band's edges are two slices
    of a 1-D buffer. The two weights of every cell are computed for a block of
    diagonals at once (``_diagonal_blocks``), so a diagonal costs three numpy calls
    plus its edges: the sweep is bound by that per-call overhead at the usual widths.
    """
    g = math.gcd(m, n)
    mg, ng = m // g, n // g
    s = mg + ng
    hs = hs.astype(np.int64)
    h_max = int(hs.max())
    width = (2 * h_max) // s + 3
    # the smallest x on diagonal k with ng*x - mg*(k - x) > -h_max, i.e. x > (mg k - h_max) / s
    start = (-h_max) // s + 1
    first = np.where(start + np.arange(width) == 0, 0.0, 1.0)  # diagonal 0: v(0, 0) = 0
    if hs.size == 1:
        return np.array([_sweep_one(m, n, mg, s, h_max, width, start, first)])
    return _sweep_many(m, n, mg, s, hs, width, start, first)


def _diagonal_blocks(m: int, n: int, mg: int, s: int, h_max: int,
                     width: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """For blocks of consecutive diagonals k: (k, window start, weight of v(x-1, y), weight of v(x, y-1))."""
    cols = np.arange(width, dtype=np.float64)
    block = max(16, _WEIGHTS_BLOCK // width)
    for first in range(1, m + n + 1, block):
        ks = np.arange(first, min(first + block, m + n + 1), dtype=np.int64)
        starts = (mg * ks - h_max) // s + 1
        xs = starts[:, None] + cols  # x of each window cell, exact in floats
        kf = ks[:, None].astype(np.float64)
        # y / k rounded once (1 - x/k would cancel when y is small)
        yield ks, starts, xs / kf, (kf - xs) / kf


_WEIGHTS_BLOCK = 1 << 19  # window cells whose weights are computed at once (4 MB an array)


def _sweep_one(m: int, n: int, mg: int, s: int, h: int, width: int, start: int, first: np.ndarray) -> float:
    cur, nxt = np.ones(width + 2), np.ones(width + 2)
    cur[1:-1] = first
    term = np.empty(width)
    for ks, starts, fracs, backs in _diagonal_blocks(m, n, mg, s, h, width):
        # off-lattice cells and those outside the band (mg k - h < s x < mg k + h) are 1
        los = np.maximum(np.maximum(ks - n, 0), (mg * ks - h) // s + 1) - starts
        his = np.minimum(np.minimum(ks, m) + 1, -(-(mg * ks + h) // s)) - starts
        shifts = np.diff(starts, prepend=start)  # 0 or 1: the band moves right by mg/s per diagonal
        for row, (shift, lo, hi) in enumerate(zip(shifts.tolist(), los.tolist(), his.tolist())):
            out = nxt[1:-1]
            # v(x-1, y) sits at buffer index x-1-start+1, v(x, y-1) at x-start+1
            np.multiply(cur[shift:shift + width], fracs[row], out=out)
            np.multiply(cur[shift + 1:shift + 1 + width], backs[row], out=term)
            out += term
            if lo > 0:
                out[:lo] = 1.0
            if hi < width:
                out[max(hi, 0):] = 1.0
            cur, nxt = nxt, cur
        start = int(starts[-1])
    return float(cur[1 + m - start])


def _sweep_many(m: int, n: int, mg: int, s: int, hs: np.ndarray, width: int, start: int,
                first: np.ndarray) -> np.ndarray:  # fmt: skip
    cur, nxt = np.ones((hs.size, width + 2)), np.ones((hs.size, width + 2))
    cur[:, 1:-1] = first
    term = np.empty((hs.size, width))
    blocked = np.empty((hs.size, width), dtype=bool)
    scols = s * np.arange(width, dtype=np.int64)
    limits = hs[:, None]
    for ks, starts, fracs, backs in _diagonal_blocks(m, n, mg, s, int(hs.max()), width):
        los, his = np.maximum(ks - n, 0) - starts, np.minimum(ks, m) + 1 - starts  # off-lattice cells are 1
        shifts = np.diff(starts, prepend=start)
        offsets = s * starts - mg * ks
        for row, (shift, lo, hi, offset) in enumerate(zip(shifts.tolist(), los.tolist(), his.tolist(),
                                                          offsets.tolist())):  # fmt: skip
            out = nxt[:, 1:-1]
            np.multiply(cur[:, shift:shift + width], fracs[row], out=out)
            np.multiply(cur[:, shift + 1:shift + 1 + width], backs[row], out=term)
            out += term
            # each h's own band: |ng x - mg y| with y = k - x is |s x - mg k|
            np.greater_equal(np.abs(scols + offset), limits, out=blocked)
            np.maximum(out, blocked, out=out)
            if lo > 0:
                out[:, :lo] = 1.0
            if hi < width:
                out[:, max(hi, 0):] = 1.0
            cur, nxt = nxt, cur
        start = int(starts[-1])
    return cur[:, 1 + m - start].copy()
