"""KS exact mode (both samples <= 10,000): mlpipex.drift.ks_2samp against scipy.stats.ks_2samp.

The same samples (normal, the current one shifted by --shift) for both, each timed as
its best of --repeat, the contenders taking turns in the same run (a fair ratio on a
shared machine). mlpipex is
timed twice: as installed with scipy (unequal sizes call scipy's compiled band loop,
``mlpipex.drift._scipy_band``) and as the base install runs it, without scipy (the
numpy recurrence). Every p-value is checked against scipy's to a relative 1e-9, and
the statistic exactly. Then a monitor check: 30 continuous features of a window against
a 10,000-row reference with ``detect_drift``, against a per-feature scipy loop.

    .venv/bin/python benchmarks/ks_exact.py [--repeat K] [--shift S]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, table
from mlpipex.drift import DriftSettings, Reference, _ks, _scipy_band, detect_drift, ks_2samp

SIZES = [(10_000, 10_000), (5_000, 5_000), (1_000, 1_000), (10_000, 9_000), (10_000, 5_000), (9_973, 7_919),
         (3_000, 2_000)]  # fmt: skip
FEATURES = 30


def best_ms(functions: list[Callable[[], Any]], repeat: int) -> list[tuple[float, Any]]:
    """Best time in ms (and the result) of each function, run in turn ``repeat`` times.

    Interleaved, so a change of load on the shared machine hits every contender alike.
    """
    best = [(float("inf"), None)] * len(functions)
    for _ in range(repeat):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            result = function()
            elapsed = (time.perf_counter() - start) * 1e3
            best[index] = (min(best[index][0], elapsed), result)
    return best


def check(got: tuple[float, float], expected: Any, what: str) -> None:
    d, p = got
    if abs(d - expected.statistic) > 1e-14 or abs(p - expected.pvalue) > 1e-9 * expected.pvalue + 1e-300:
        raise SystemExit(f"{what}: mlpipex ({d!r}, {p!r}) differs from scipy ({expected.statistic!r}, {expected.pvalue!r})")


def numpy_only(function: Callable[[], Any]) -> Callable[[], Any]:
    """``function`` as the base install runs it: without scipy's compiled loop."""

    def run() -> Any:
        compiled, _ks.band_outside = _ks.band_outside, lambda: None
        try:
            return function()
        finally:
            _ks.band_outside = compiled

    return run


def one_test(a: np.ndarray, b: np.ndarray, repeat: int) -> list[str]:
    n1, n2 = a.size, b.size
    (scipy_ms, expected), (ours_ms, got), (numpy_ms, got_numpy) = best_ms(
        [lambda: stats.ks_2samp(a, b), lambda: ks_2samp(a, b), numpy_only(lambda: ks_2samp(a, b))], repeat)
    check(got, expected, f"{n1} x {n2}")
    check(got_numpy, expected, f"{n1} x {n2} (numpy)")
    return [f"{n1:,} x {n2:,}", f"{expected.pvalue:.3g}", f"{scipy_ms:.2f}", f"{ours_ms:.2f}",
            f"{scipy_ms / ours_ms:.2f}", f"{numpy_ms:.2f}", f"{scipy_ms / numpy_ms:.2f}"]  # fmt: skip


def monitor_check(reference: dict[str, np.ndarray], current: dict[str, np.ndarray], repeat: int) -> list[str]:
    ref, settings = Reference.from_columns(reference), DriftSettings(alpha=0.01)
    (scipy_ms, expected), (ours_ms, report), (numpy_ms, _) = best_ms(
        [lambda: [stats.ks_2samp(reference[n], current[n]) for n in reference],
         lambda: detect_drift(ref, current, settings), numpy_only(lambda: detect_drift(ref, current, settings))],
        repeat)  # fmt: skip
    for feature, exp in zip(report.features, expected):
        check((feature.statistic or 0.0, feature.p_value or 0.0), exp, f"monitor {feature.name}")
    window = next(iter(current.values())).size
    return [f"10,000 x {window:,}", f"{scipy_ms:.1f}", f"{ours_ms:.1f}", f"{scipy_ms / ours_ms:.2f}",
            f"{numpy_ms:.1f}", f"{scipy_ms / numpy_ms:.2f}"]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shift", type=float, default=0.03)
    args = parser.parse_args()
    if _scipy_band.band_outside() is None:
        print("note: scipy's compiled band loop did not load; both mlpipex columns are the numpy recurrence")
    rng = np.random.default_rng(0)
    rows = [one_test(rng.normal(size=n1), rng.normal(args.shift, size=n2), args.repeat) for n1, n2 in SIZES]
    print(f"KS exact mode, best of {args.repeat} ({machine()}), shift {args.shift}")
    print(table(["n1 x n2", "p", "scipy ms", "mlpipex ms", "scipy / mlpipex", "numpy-only ms", "scipy / numpy-only"],
                rows))  # fmt: skip
    print()
    names = [f"f{i}" for i in range(FEATURES)]
    monitor_rows = []
    for window in (10_000, 9_000):
        reference = {name: rng.normal(size=10_000) for name in names}
        current = {name: rng.normal(args.shift * (i % 3), size=window) for i, name in enumerate(names)}
        monitor_rows.append(monitor_check(reference, current, args.repeat))
    print(f"A monitor check: {FEATURES} continuous features (shifts 0, {args.shift:g}, {2 * args.shift:g}), "
          "detect_drift against a scipy ks_2samp loop")
    print(table(["reference x window", "scipy loop ms", "mlpipex ms", "scipy / mlpipex", "numpy-only ms",
                 "scipy / numpy-only"], monitor_rows))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
