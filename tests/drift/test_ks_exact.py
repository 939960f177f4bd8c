"""The exact KS p-value of unequal sample sizes equals scipy's, with scipy's compiled loop and without it.

With scipy installed, ``ks_pvalues`` calls the very function ``scipy.stats.ks_2samp``
calls (``_scipy_band``): the p-values are scipy's bit for bit. Without it (the base
install), the numpy band recurrence: equal to a relative 1e-9. Both are checked over
a grid of sizes (small and ~10,000, coprime and with a large gcd), ties, and p-values
from ~1 down to ~1e-100.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import scipy
from packaging.version import Version
from scipy import stats

from mlpipex.drift import _ks, _scipy_band
from mlpipex.drift._ks import ks_pvalues, ks_statistic

from .test_ks import _outside_by_counting

TOL = 1e-9

SIZES = [
    (7, 5), (37, 100), (250, 101),  # small, coprime
    (1000, 999), (9973, 7919),  # coprime, the second two primes near the exact limit
    (10_000, 9_000), (10_000, 5_000), (9_000, 6_000), (4_000, 10_000),  # gcd 1000, 5000, 3000, 2000
]  # fmt: skip
TARGET_P = [1.0, 1e-3, 1e-20, 1e-100]


def _shift_for(p: float, n1: int, n2: int) -> float:
    """A normal location shift whose KS p-value is about p (D ~ 0.4 shift, p ~ 2 exp(-2 N D^2))."""
    if p >= 1.0:
        return 0.0
    n = n1 * n2 / (n1 + n2)
    return min(math.sqrt(math.log(2 / p) / (2 * n)) / 0.4, 3.0)


def _cases() -> Iterator[tuple[int, int, float, bool]]:
    for n1, n2 in SIZES:
        for p in TARGET_P:
            if min(n1, n2) < 200 and p < 1e-20:
                continue  # small samples cannot reach it (D <= 1)
            yield n1, n2, p, False
        yield n1, n2, 1e-3, True  # ties


def _samples(n1: int, n2: int, p: float, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n1 * 7 + n2)
    a, b = rng.normal(size=n1), rng.normal(_shift_for(p, n1, n2), size=n2)
    return (np.round(a * 4), np.round(b * 4)) if ties else (a, b)


@pytest.fixture(params=["scipy's compiled loop", "numpy recurrence"])
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "numpy recurrence":  # the base install: no scipy
        monkeypatch.setattr(_ks, "band_outside", lambda: None)
    else:
        assert _scipy_band.band_outside() is not None
    return str(request.param)


@pytest.mark.parametrize(("n1", "n2", "p", "ties"), list(_cases()))
def test_unequal_sizes_equal_scipy(method: str, n1: int, n2: int, p: float, ties: bool) -> None:
    a, b = _samples(n1, n2, p, ties)
    expected = stats.ks_2samp(a, b, method="exact")
    if p < 1e-20:
        assert 0 < expected.pvalue < 1e-60, expected.pvalue  # the grid reaches the far tail
    [(d, got)] = ks_pvalues([ks_statistic(np.sort(a), np.sort(b))], n1, n2)
    assert d == pytest.approx(expected.statistic, rel=0, abs=1e-14)
    if method == "numpy recurrence":
        assert got == pytest.approx(expected.pvalue, rel=TOL, abs=1e-300), (got, expected.pvalue)
    else:  # the same function scipy calls: the same float
        assert got == expected.pvalue


def test_many_statistics_with_repeats_equal_scipy_one_by_one(method: str) -> None:
    # a monitor check: 30 features, 9,000-row window against a 10,000-row reference,
    # several with the same D (one computation for each distinct value)
    rng = np.random.default_rng(30)
    n1, n2 = 10_000, 9_000
    ref = [rng.normal(size=n1) for _ in range(6)]
    cur = [rng.normal(shift, size=n2) for shift in (0.0, 0.02, 0.05, 0.1, 0.0, 0.3)]
    ds = [ks_statistic(np.sort(r), np.sort(c)) for r, c in zip(ref, cur)] * 5
    got = ks_pvalues(ds, n1, n2)  # scipy's loop: distinct statistics in threads
    assert ks_pvalues(ds, n1, n2, workers=1) == got
    for index, (d, p) in enumerate(got):
        expected = stats.ks_2samp(ref[index % 6], cur[index % 6], method="exact")
        assert d == pytest.approx(expected.statistic, rel=0, abs=1e-14)
        assert p == pytest.approx(expected.pvalue, rel=TOL, abs=1e-300), (index, p, expected.pvalue)


def test_unequal_sizes_equal_exact_path_counting(method: str) -> None:
    # independent of scipy: one h at a time and several at once (the numpy recurrence
    # has a 1-D sweep for one h and a 2-D one for several)
    rng = np.random.default_rng(22)
    for _ in range(60):
        n1, n2 = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        if n1 == n2:
            continue
        lcm = n1 * n2 // math.gcd(n1, n2)
        hs = sorted({int(h) for h in rng.integers(1, lcm + 1, 3)})
        expected = [_outside_by_counting(n1, n2, h) for h in hs]
        together = [p for _, p in ks_pvalues([h / lcm for h in hs], n1, n2)]
        alone = [ks_pvalues([h / lcm], n1, n2)[0][1] for h in hs]
        assert together == pytest.approx(expected, rel=1e-12, abs=1e-300), (n1, n2, hs)
        assert alone == pytest.approx(expected, rel=1e-12, abs=1e-300), (n1, n2, hs)


def test_scipy_compiled_loop_is_found_for_every_supported_scipy() -> None:
    # pyproject's extras allow scipy >= 1.10; from 1.10 to 1.17 at least, ks_2samp's exact
    # two-sided p-value of unequal sizes is this function (a newer scipy that renames it
    # makes this fail, and ks_pvalues quietly uses the numpy recurrence meanwhile)
    assert Version(scipy.__version__) >= Version("1.10")
    _scipy_band.band_outside.cache_clear()
    function = _scipy_band.band_outside()
    assert function is not None
    from scipy.stats import _stats_pythran  # what scipy's own ks_2samp imports

    assert function is _stats_pythran._compute_outer_prob_inside_method or function(10_000, 9_000, 1_000, 1_675) == (
        _stats_pythran._compute_outer_prob_inside_method(10_000, 9_000, 1_000, 1_675))


def test_without_scipy_or_with_a_changed_function_the_numpy_recurrence_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, _scipy_band._MODULE, raising=False)
    monkeypatch.setattr(_scipy_band.importlib.util, "find_spec", lambda name: None)  # scipy not installed
    _scipy_band.band_outside.cache_clear()
    try:
        assert _scipy_band.band_outside() is None
        [(_, p)] = ks_pvalues([12 / 35], 7, 5)
        assert p == pytest.approx(73 / 99, rel=1e-12)
        monkeypatch.undo()
        # a scipy whose function returned P(inside) instead: the self-check refuses it
        monkeypatch.setattr(_scipy_band, "_load", lambda: lambda m, n, g, h: 1.0 - 73 / 99)
        _scipy_band.band_outside.cache_clear()
        assert _scipy_band.band_outside() is None
        monkeypatch.setattr(_scipy_band, "_load", lambda: lambda m, n: 0.5)  # another signature
        _scipy_band.band_outside.cache_clear()
        assert _scipy_band.band_outside() is None
    finally:
        monkeypatch.undo()
        _scipy_band.band_outside.cache_clear()


def test_the_compiled_loop_loads_without_importing_scipy_stats() -> None:
    # importing scipy.stats costs ~0.4 s: only its one extension file is loaded
    probe = (
        "import sys, numpy as np\n"
        "from mlpipex.drift import ks_2samp\n"
        "from mlpipex.drift._scipy_band import band_outside\n"
        "rng = np.random.default_rng(0)\n"
        "d, p = ks_2samp(rng.normal(size=300), rng.normal(0.2, size=200))\n"
        "print(band_outside() is not None, 'scipy.stats' in sys.modules, repr(p))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded, stats_imported, p = out.stdout.split()
    assert (loaded, stats_imported) == ("True", "False")
    rng = np.random.default_rng(0)
    assert float(p) == stats.ks_2samp(rng.normal(size=300), rng.normal(0.2, size=200)).pvalue
