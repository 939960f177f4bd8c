"""KS exact mode (both samples <= 10,000): mlpipex.drift.ks_2samp against scipy.stats.ks_2samp.

The same samples (normal, the current one shifted by --shift) for both, each timed as
its best of --repeat, the contenders taking turns in the same run (a fair ratio on a
shared machine); the ratios of CPU time, which leave out waiting for a core, are
printed too (the monitor check's threads add up in it). mlpipex is
timed twice: as installed with scipy (unequal sizes call scipy's compiled band loop,
``mlpipex.drift._scipy_band``) and as the base install runs it, without scipy (the
numpy recurrence). Every p-value is checked against scipy's to a relative 1e-9, and
the statistic exactly. Then a monitor check: 30 continuous features of a window against
a 10,000-row reference with ``detect_drift``, against a per-feature scipy loop.

    .venv/bin/python benchmarks/ks_exact.py [--repeat K] [--shift S]
"""

from __future__ import annotations

import argparse
import math
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


def best_ms(functions: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float, Any]]:
    """Best wall time and best CPU time in ms (and the result) of each function, run in turn.

    Interleaved, so a change of load on the shared machine hits every contender alike;
    the CPU time (this process's, all threads) does not count waiting for a core.
    """
    best: list[tuple[float, float, Any]] = [(math.inf, math.inf, None)] * len(functions)
    for _ in range(repeat):
        for index, function in enumerate(functions):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = function()
            wall, cpu = (time.perf_counter() - start) * 1e3, (time.process_time() - start_cpu) * 1e3
            best[index] = (min(best[index][0], wall), min(best[index][1], cpu), result)
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


def ratios(scipy: tuple[float, float, Any], ours: tuple[float, float, Any]) -> list[str]:
    return [f"{ours[0]:.2f}", f"{scipy[0] / ours[0]:.2f}", f"{scipy[1] / max(ours[1], 1e-3):.2f}"]


def one_test(a: np.ndarray, b: np.ndarray, repeat: int) -> list[str]:
    n1, n2 = a.size, b.size
    scipy, ours, numpy = best_ms(
        [lambda: stats.ks_2samp(a, b), lambda: ks_2samp(a, b), numpy_only(lambda: ks_2samp(a, b))], repeat)
    check(ours[2], scipy[2], f"{n1} x {n2}")
    check(numpy[2], scipy[2], f"{n1} x {n2} (numpy)")
    return [f"{n1:,} x {n2:,}", f"{scipy[2].pvalue:.3g}", f"{scipy[0]:.2f}", *ratios(scipy, ours), *ratios(scipy, numpy)]


def monitor_check(reference: dict[str, np.ndarray], current: dict[str, np.ndarray], repeat: int) -> list[str]:
    ref, settings = Reference.from_columns(reference), DriftSettings(alpha=0.01)
    scipy, ours, numpy = best_ms(
        [lambda: [stats.ks_2samp(reference[n], current[n]) for n in reference],
         lambda: detect_drift(ref, current, settings), numpy_only(lambda: detect_drift(ref, current, settings))],
        repeat)  # fmt: skip
    for feature, exp in zip(ours[2].features, scipy[2]):
        check((feature.statistic or 0.0, feature.p_value or 0.0), exp, f"monitor {feature.name}")
    window = next(iter(current.values())).size
    return [f"10,000 x {window:,}", f"{scipy[0]:.1f}", *ratios(scipy, ours), *ratios(scipy, numpy)]


HEADERS = ["scipy ms", "mlpipex ms", "scipy / mlpipex", "(CPU)", "numpy-only ms", "scipy / numpy-only", "(CPU)"]


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
    print(table(["n1 x n2", "p", *HEADERS], rows))
    print()
    names = [f"f{i}" for i in range(FEATURES)]
    monitor_rows = []
    for window in (10_000, 9_000):
        reference = {name: rng.normal(size=10_000) for name in names}
        current = {name: rng.normal(args.shift * (i % 3), size=window) for i, name in enumerate(names)}
        monitor_rows.append(monitor_check(reference, current, args.repeat))
    print(f"A monitor check: {FEATURES} continuous features (shifts 0, {args.shift:g}, {2 * args.shift:g}), "
          "detect_drift against a scipy ks_2samp loop")
    print(table(["reference x window", "scipy loop ms", *HEADERS[1:]], monitor_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
