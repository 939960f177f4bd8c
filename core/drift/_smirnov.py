"""Smirnov's one-sided distribution: ``smirnov_sf(n, x)`` = P(D_n^+ >= x), in numpy.

It equals ``scipy.special.smirnov(n, x)`` to a relative 1e-12 (tested over n from 1 to
several million and p down to 1e-300), and for the large n of a drift check it is
10-20x faster: scipy sums the Birnbaum–Tingey series term by term in double-double
arithmetic (about 0.4 s at n = 500,000), here all terms are computed at once in
logarithms, in a form without cancellation:

    P(D_n^+ >= x) = x * sum_{j=0}^{floor(n(1-x))} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1)

With t = n x and Stirling's formula log k! = k log k - k + log(2 pi k)/2 + r(k), the
log of term j >= 1 is

    (n-j) log1p(-t/(n-j)) + j log1p(t/j) - log((t+j)/n) + log(n/(2 pi j (n-j)))/2
        + r(n) - r(j) - r(n-j) + log x

whose parts are at most of size t (no log n! of size n log n to cancel), so each term
is accurate to about 1e-13 relative; all terms are positive, so the sum is too.
Like scipy, n above 1,000,000 uses the approximation exp(-(6nx+1)^2 / (18n)), and
a tail below exp(MINLOG) is 0.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = ["smirnov_sf"]

_LOG_2PI = math.log(2 * math.pi)
_MINLOG = -7.451332191019412076235e2  # log(2**-1075), scipy (xsf) MINLOG: its underflow cut
_MAX_COMPUTE_N = 1_000_000  # scipy's SMIRNOV_MAX_COMPUTE_N: above it, the closed-form approximation
_SMALL = 20  # below this, Stirling's remainder is taken from lgamma directly
_SMALL_REST = np.array([0.0] + [math.lgamma(k + 1) - (k * math.log(k) - k + 0.5 * math.log(2 * math.pi * k))
                                for k in range(1, _SMALL)])  # fmt: skip


def _stirling_rest(k: np.ndarray) -> np.ndarray:
    """r(k) = log k! - (k log k - k + log(2 pi k)/2) for integers k >= 1 (float array)."""
    r = 1.0 / k
    r2 = r * r
    # The asymptotic series; its error at k >= 20 is below 1e-17.
    out = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
    small = k < _SMALL
    if small.any():
        out[small] = _SMALL_REST[k[small].astype(np.int64)]
    return out


def smirnov_sf(n: int, x: float) -> float:
    """P(D_n^+ >= x) for the one-sided KS statistic of n observations (``scipy.special.smirnov``)."""
    if n <= 0 or math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    if n == 1:
        return 1.0 - x
    t = n * x
    exact_t = Fraction(x) * n  # region boundaries decided exactly, as scipy does in double-double
    if exact_t <= 1:  # x <= 1/n: P = 1 - x (1 + x)^(n-1)
        return _clip(1.0 - x * math.exp((n - 1) * math.log1p(x)))
    if -2.0 * n * x * x < _MINLOG:
        return 0.0
    if exact_t >= n - 1:  # x >= 1 - 1/n: only the j = 0 term
        return _clip(math.exp(n * math.log1p(-x)))
    if n > _MAX_COMPUTE_N:
        return _clip(math.exp(-((6.0 * t + 1) ** 2) / (18.0 * n)))
    top = math.ceil(n - exact_t) - 1  # terms j < n (1 - x): at j = n (1 - x) the term is 0
    total = math.exp(n * math.log1p(-x))  # j = 0: (1 - x)^n
    if top >= 1:
        j = np.arange(1, top + 1, dtype=np.float64)
        rest = n - j
        with np.errstate(divide="ignore"):  # t rounded up to n - j: that term is 0 (log -inf)
            log_terms = rest * np.log1p(-t / rest)
        log_terms += j * np.log1p(t / j)
        log_terms -= np.log((t + j) / n)
        log_terms += 0.5 * (np.log(n / (j * rest)) - _LOG_2PI)
        log_terms -= _stirling_rest(j)
        log_terms -= _stirling_rest(rest)
        log_terms += float(_stirling_rest(np.array([float(n)]))[0]) + math.log(x)
        peak = float(log_terms.max())
        if peak > -math.inf:
            total += math.exp(peak + math.log(float(np.exp(log_terms - peak).sum())))
    return _clip(total)


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)
