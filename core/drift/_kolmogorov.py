"""The distribution of the one-sample two-sided Kolmogorov–Smirnov statistic D_n.

``kolmogorov_sf(n, x)`` is P(D_n >= x). The two-sample test in its asymptotic
regime reads its p-value off this distribution with n = round(n1*n2/(n1+n2)),
which is what ``scipy.stats.ks_2samp`` does (through ``scipy.stats.kstwo``). To
agree with it to 1e-9 we pick the same method in each region of (n, x), following
Simard & L'Ecuyer, "Computing the two-sided Kolmogorov-Smirnov distribution",
J. Stat. Softw. 39(11), 2011:

- x <= 1/(2n), x >= 1, and the two Ruben–Gambino end regions: closed forms;
- x >= 1/2: P = 2 * Smirnov's one-sided tail, which is exact there;
- the body of the distribution: the exact Durbin matrix method as given by
  Marsaglia, Tsang and Wang (J. Stat. Softw. 8(18), 2003);
- the far tail (n x^2 >= 2.2 when n > 140, n x^2 > 4 when n <= 140): Miller's
  approximation 2 * Smirnov tail (the error is far below 1e-9 there);
- n > 100000 (or n x^1.5 > 1.4): the Pelz–Good asymptotic series (1976).

Pure numpy: Smirnov's one-sided tail comes from ``_smirnov`` (equal to
``scipy.special.smirnov``, and much faster at large n), so drift needs no scipy.
"""

from __future__ import annotations

import math

import numpy as np

from mlpipex.drift._smirnov import smirnov_sf

__all__ = ["kolmogorov_sf"]

_SQRT_2PI = math.sqrt(2 * math.pi)
_PI2 = math.pi**2


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n**n), without the cancellation of log(n!) - n*log(n)."""
    if n < 20:
        return float(sum(math.log(i / n) for i in range(1, n + 1)))
    # Stirling's series: log n! = n log n - n + log(2 pi n)/2 + 1/(12n) - 1/(360n^3) + ...
    r = 1.0 / n
    series = r * (1 / 12 - r * r * (1 / 360 - r * r * (1 / 1260 - r * r * (1 / 1680 - r * r / 1188))))
    return 0.5 * math.log(2 * math.pi * n) - n + series


def _durbin_cdf(n: int, x: float) -> float:
    """P(D_n < x) by the Durbin matrix method (Marsaglia, Tsang and Wang 2003).

    With k = ceil(n x) and h = k - n x, P = n!/n^n * (H^n)[k-1, k-1] for a
    (2k-1)-square matrix H; powers are taken by squaring, keeping a binary
    exponent aside so nothing overflows.
    """
    k = math.ceil(n * x)
    h = k - n * x
    m = 2 * k - 1
    i, j = np.indices((m, m))
    lag = i - j + 1  # H[i, j] is 1/lag! where lag >= 0, else 0
    H = (lag >= 0).astype(np.float64)
    powers = h ** np.arange(1, m + 1)
    H[:, 0] -= powers
    H[m - 1, :] -= powers[::-1]
    if 2 * h - 1 > 0:
        H[m - 1, 0] += (2 * h - 1) ** m
    factorials = np.array([math.factorial(v) if v >= 0 else 1 for v in range(-1, m + 1)], dtype=np.float64)
    H /= np.where(lag >= 0, factorials[np.clip(lag, 0, None) + 1], 1.0)
    result, result_exp = np.eye(m), 0
    base, base_exp = H, 0
    power = n
    while power:
        if power & 1:
            result = result @ base
            result_exp += base_exp
            result, result_exp = _rescale(result, result_exp)
        power >>= 1
        if power:
            base = base @ base
            base_exp *= 2
            base, base_exp = _rescale(base, base_exp)
    value = float(result[k - 1, k - 1])
    if value <= 0.0:
        return 0.0
    log_p = math.log(value) + result_exp * math.log(2.0) + _log_factorial_over_power(n)
    return math.exp(log_p) if log_p < 0 else 1.0


def _rescale(matrix: np.ndarray, exponent: int) -> tuple[np.ndarray, int]:
    """Divide by a power of two so the largest entry is about 1; return the exponent kept aside."""
    top = float(np.abs(matrix).max())
    if top == 0.0 or 2.0**-100 < top < 2.0**100:
        return matrix, exponent
    shift = math.frexp(top)[1]
    return np.ldexp(matrix, -shift), exponent + shift


def _pelz_good_sf(n: int, x: float) -> float:
    """1 - P(D_n <= x) from the Pelz–Good series K0 + K1/sqrt(n) + K2/n + K3/n^1.5 at z = x sqrt(n)."""
    z = x * math.sqrt(n)
    if -_PI2 / (8 * z * z) < -708:  # every term underflows: the CDF is 0
        return 1.0
    z2, z3, z4, z6 = z * z, z**3, z**4, z**6
    odd = 2.0 * np.arange(1, 12) - 1  # (2k - 1); terms beyond k = 11 are below 1e-200 for z < 1.5
    weight = np.exp(-_PI2 * odd**2 / (8 * z2))
    o2, o4, o6 = odd**2, odd**4, odd**6
    k0 = _SQRT_2PI / z * weight.sum()
    k1 = _SQRT_2PI / (6 * z4) * ((_PI2 * o2 / 4 - z2) * weight).sum()
    k2 = _SQRT_2PI / (72 * z**7) * (
        (6 * z6 + 2 * z4 + _PI2 * (2 * z4 - 5 * z2) * o2 / 4 + _PI2**2 * (1 - 2 * z2) * o4 / 16) * weight
    ).sum()
    k3 = _SQRT_2PI / (6480 * z**10) * (
        (
            -30 * z6 - 90 * z**8
            + _PI2 * (135 * z4 - 96 * z6) * o2 / 4
            + _PI2**2 * (212 * z4 - 60 * z2) * o4 / 16
            + _PI2**3 * (5 - 30 * z2) * o6 / 64
        )
        * weight
    ).sum()
    ints = np.arange(1.0, 12.0)
    weight_int = np.exp(-_PI2 * ints**2 / (2 * z2))
    k2 -= _SQRT_2PI * _PI2 / (36 * z3) * (ints**2 * weight_int).sum()
    k3 += _SQRT_2PI * _PI2 / (216 * z6) * ((3 * z2 - _PI2 * ints**2) * ints**2 * weight_int).sum()
    root = math.sqrt(n)
    return (1.0 - k0) - k1 / root - k2 / n - k3 / (n * root)


def kolmogorov_sf(n: int, x: float) -> float:
    """P(D_n >= x) for the one-sample two-sided KS statistic with n observations."""
    if n <= 0 or math.isnan(x):
        return math.nan
    if x >= 1.0:
        return 0.0
    if x <= 0.0:
        return 1.0
    t = n * x
    if t <= 1.0:  # Ruben–Gambino: P(D_n < x) = n!/n^n (2t - 1)^n for 1/(2n) < x <= 1/n
        if t <= 0.5:
            return 1.0
        return _clip(1.0 - math.exp(_log_factorial_over_power(n) + n * math.log(2 * t - 1)))
    if t >= n - 1:  # Ruben–Gambino at the top end
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:
        return _clip(2 * smirnov_sf(n, x))
    nx2 = t * x
    if n <= 140:
        if nx2 <= 4:
            return _clip(1.0 - _durbin_cdf(n, x))
        return _clip(2 * smirnov_sf(n, x))
    if nx2 >= 370.0:
        return 0.0
    if nx2 >= 2.2:
        return _clip(2 * smirnov_sf(n, x))
    if n <= 100_000 and n * x**1.5 <= 1.4:
        return _clip(1.0 - _durbin_cdf(n, x))
    return _clip(_pelz_good_sf(n, x))


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)
