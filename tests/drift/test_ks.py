"""The two-sample KS test equals scipy.stats.ks_2samp: statistic exactly, p-value to a relative 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlpipex.drift import ks_2samp
from mlpipex.drift._kolmogorov import kolmogorov_sf
from mlpipex.drift._ks import ks_pvalues, ks_statistic
from mlpipex.drift._smirnov import smirnov_sf

TOL = 1e-9  # relative: at p ~ 1e-68 an absolute 1e-9 would accept any answer


def _same_d(got: float, expected: float) -> bool:
    # ours is n1 n2 (F1 - F2) in exact integers, rounded once; scipy subtracts two float CDFs
    # (an absolute error of a few 1e-16, which is a larger relative one when D is small)
    return got == pytest.approx(expected, rel=0, abs=1e-14)


def _same_p(got: float, expected: float) -> bool:
    return got == pytest.approx(expected, rel=TOL, abs=1e-300)


def _samples(rng: np.random.Generator, n1: int, n2: int, shape: str) -> tuple[np.ndarray, np.ndarray]:
    shift = float(rng.choice([0.0, 0.05, 0.3, 1.0]))
    if shape == "normal":
        return rng.normal(size=n1), rng.normal(shift, size=n2)
    if shape == "rounded":  # many ties
        return np.round(rng.normal(size=n1) * 2), np.round(rng.normal(shift, size=n2) * 2)
    if shape == "three_values":  # almost all ties
        return rng.integers(0, 3, n1).astype(float), rng.integers(0, 3, n2).astype(float)
    if shape == "heavy_tail":
        return rng.standard_cauchy(n1), rng.standard_cauchy(n2) * (1 + shift)
    if shape == "shared_values":  # the two samples overlap exactly in places
        base = rng.normal(size=max(n1, n2))
        return rng.choice(base, n1), rng.choice(base, n2) + (shift if shift > 0.5 else 0)
    raise AssertionError(shape)


SIZES = [1, 2, 3, 5, 8, 20, 37, 100, 101, 250, 999, 1000, 3001, 10_000, 10_001, 12_000, 60_000, 250_000]
SHAPES = ["normal", "rounded", "three_values", "heavy_tail", "shared_values"]


@pytest.mark.parametrize("shape", SHAPES)
def test_equals_scipy_over_many_sizes(shape: str) -> None:
    rng = np.random.default_rng(abs(hash(shape)) % 2**32)
    checked = 0
    for _ in range(60):
        n1, n2 = int(rng.choice(SIZES)), int(rng.choice(SIZES))
        if max(n1, n2) <= 10_000 and n1 + n2 > 5000:
            continue  # exact regime with two large samples: covered once below (slow in both libraries)
        a, b = _samples(rng, n1, n2, shape)
        expected = stats.ks_2samp(a, b)
        d, p = ks_2samp(a, b)
        assert _same_d(d, expected.statistic), (n1, n2)
        assert _same_p(p, expected.pvalue), (n1, n2, d, p, expected.pvalue)
        checked += 1
    assert checked >= 40


def test_equals_scipy_in_the_exact_regime_with_large_samples() -> None:
    rng = np.random.default_rng(7)
    for n1, n2, shift in [(10_000, 10_000, 0.0), (8000, 10_000, 0.02), (10_000, 5000, 0.05)]:
        a, b = rng.normal(size=n1), rng.normal(shift, size=n2)
        expected = stats.ks_2samp(a, b)
        d, p = ks_2samp(a, b)
        assert _same_d(d, expected.statistic) and _same_p(p, expected.pvalue)


def test_exact_and_asymptotic_regimes_both_covered() -> None:
    # ks_2samp switches method at 10,000 values: one sample either side of the switch
    rng = np.random.default_rng(3)
    a = rng.normal(size=500)
    for n2 in (10_000, 10_001):
        b = rng.normal(0.1, size=n2)
        expected = stats.ks_2samp(a, b)
        d, p = ks_2samp(a, b)
        assert _same_d(d, expected.statistic) and _same_p(p, expected.pvalue)


def test_many_statistics_share_one_exact_computation() -> None:
    ds = np.linspace(0.0, 1.0, 41)
    got = ks_pvalues(ds, 30, 45)
    rng = np.random.default_rng(0)
    # the exact p-value depends only on (d rounded to the lattice, n1, n2): compare to scipy via samples
    assert all(0.0 <= p <= 1.0 for _, p in got)
    for _ in range(30):
        a, b = rng.normal(size=30), rng.normal(rng.uniform(0, 2), size=45)
        expected = stats.ks_2samp(a, b)
        [(d, p)] = ks_pvalues([ks_statistic(np.sort(a), np.sort(b))], 30, 45)
        assert d == pytest.approx(expected.statistic, rel=1e-15) and _same_p(p, expected.pvalue)
    assert [p for _, p in got] == sorted((p for _, p in got), reverse=True)  # monotone in d


@pytest.mark.parametrize("n", [1, 2, 7, 50, 140, 141, 1000, 40_000, 100_000, 100_001, 2_000_000])
def test_one_sample_distribution_equals_scipy_kstwo(n: int) -> None:
    rng = np.random.default_rng(n)
    many = 60 if n < 20_000 else 12  # scipy itself takes ~0.1 s per value at large n
    xs = np.concatenate([rng.uniform(0, 1, many // 3), rng.uniform(0, 4 / np.sqrt(n), many),
                         [0.5 / n, 0.75 / n, 1 / n, (n - 1) / n, 0.5, 0.9999]])  # fmt: skip
    for x in xs[(xs > 0) & (xs < 1)]:
        assert _same_p(kolmogorov_sf(n, float(x)), float(stats.kstwo.sf(x, n))), x


def test_rejects_empty_samples() -> None:
    with pytest.raises(ValueError):
        ks_2samp(np.array([]), np.array([1.0]))


@pytest.mark.parametrize(("n1", "n2", "shift", "mode"), [
    (2000, 2000, 0.85, "exact"),  # m == n: the reflection formula
    (1000, 1500, 0.95, "exact"),  # m != n: the band recurrence
    (20_000, 20_000, 0.25, "asymp"),  # 2 * Smirnov's tail at n = 10,000
    (300_000, 200_000, 0.06, "asymp"),
])
def test_tiny_p_values_equal_scipy_to_a_relative_1e_9(n1: int, n2: int, shift: float, mode: str) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(shift, size=n2)
    expected = stats.ks_2samp(a, b, method=mode)
    assert 1e-120 < expected.pvalue < 1e-40  # p ~ 1e-68: where an absolute tolerance says nothing
    d, p = ks_2samp(a, b)
    assert _same_d(d, expected.statistic)
    assert _same_p(p, expected.pvalue), (p, expected.pvalue)


@pytest.mark.parametrize("mode", ["exact", "asymp"])
def test_ties_across_both_samples_in_both_modes(mode: str) -> None:
    rng = np.random.default_rng(11)
    n1, n2 = (4000, 4000) if mode == "exact" else (400_000, 300_000)
    a = np.round(rng.normal(size=n1) * 3)
    b = np.round(rng.normal(0.01 if mode == "asymp" else 0.2, size=n2) * 3)
    expected = stats.ks_2samp(a, b, method=mode)
    d, p = ks_2samp(a, b)
    assert _same_d(d, expected.statistic) and _same_p(p, expected.pvalue)


def test_large_sample_statistic_equals_a_full_merge() -> None:
    # large samples only merge the value gaps that can hold D: check against scipy's statistic
    rng = np.random.default_rng(4)
    for a, b in [
        (rng.normal(size=300_000), rng.normal(0.004, size=250_000)),
        (rng.normal(size=300_000), rng.normal(size=300_000)),  # no drift: D is spread thin
        (rng.integers(0, 40, 200_000).astype(float), rng.integers(1, 41, 210_000).astype(float)),
        (rng.exponential(size=100_000), np.concatenate([rng.exponential(size=99_000), np.full(1000, 0.5)])),
    ]:
        assert _same_d(ks_statistic(np.sort(a), np.sort(b)), stats.ks_2samp(a, b).statistic)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 19, 20, 21, 140, 1000, 50_000, 500_000, 1_000_000, 1_000_001, 3_000_000])
def test_smirnov_sf_equals_scipy_special_smirnov(n: int) -> None:
    from scipy.special import smirnov

    rng = np.random.default_rng(n)
    xs = np.concatenate([rng.uniform(0, 1, 20), rng.uniform(0, 25 / np.sqrt(n), 20),
                         [1 / n, 2 / n, 0.5, 1 - 1 / n, 1 - 2 / n]])  # fmt: skip
    for x in xs[(xs > 0) & (xs < 1)].tolist():
        expected = float(smirnov(n, x))
        if expected > 1e-300:  # below, both underflow to subnormals
            assert smirnov_sf(n, x) == pytest.approx(expected, rel=1e-11), (n, x)


def _outside_by_counting(m: int, n: int, h: int) -> float:
    """1 - (lattice paths staying strictly inside |ng x - mg y| < h) / C(m+n, m), in exact integers."""
    import math
    from fractions import Fraction

    g = math.gcd(m, n)
    mg, ng = m // g, n // g
    inside = [[0] * (n + 1) for _ in range(m + 1)]
    for x in range(m + 1):
        for y in range(n + 1):
            if abs(ng * x - mg * y) < h:
                inside[x][y] = 1 if x == y == 0 else (inside[x - 1][y] if x else 0) + (inside[x][y - 1] if y else 0)
    return float(1 - Fraction(inside[m][n], math.comb(m + n, m)))


def test_exact_p_values_equal_exact_path_counting() -> None:
    # independent of scipy: both the reflection formula (m == n) and the band recurrence
    rng = np.random.default_rng(21)
    for _ in range(120):
        n1, n2 = int(rng.integers(1, 35)), int(rng.integers(1, 35))
        lcm = n1 * n2 // np.gcd(n1, n2)
        h = int(rng.integers(1, lcm + 1))
        [(_, p)] = ks_pvalues([h / lcm], n1, n2)
        expected = _outside_by_counting(n1, n2, h)  # D >= h / lcm: |n2 x - n1 y| >= h gcd
        assert p == pytest.approx(expected, rel=1e-12, abs=1e-300), (n1, n2, h)
