"""Drift detection throughput: mlpipex vs a per-column scipy.stats.ks_2samp loop vs Evidently.

1,000,000 rows x 50 columns (40 continuous, 10 categorical), reference and current,
the same data for every tool in the same run, every tool timed as its best of
--repeat runs. mlpipex must give the same KS statistics and p-values as scipy
(checked here to a relative 1e-9). The floor is np.sort of both sides of every
continuous column: what any exact two-sample KS has to do. Evidently runs in a venv
of its own, which this script builds on first use (.venv-evidently: evidently 0.7.23,
pandas<3, DO_NOT_TRACK=1; needs PyPI once).

    .venv/bin/python benchmarks/drift_throughput.py [--rows N] [--evidently-rows N] [--repeat K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, table
from mlpipex.drift import DriftSettings, Reference, detect_drift
from mlpipex.stats.profile import build_profile

CONTINUOUS, CATEGORICAL = 40, 10
EVIDENTLY_VENV = ROOT / ".venv-evidently"
EVIDENTLY = EVIDENTLY_VENV / "bin" / "python"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3"]


def evidently_python() -> Path | None:
    """The venv's interpreter, building the venv first if it is missing or broken."""
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    check = [str(EVIDENTLY), "-c", "import evidently, pandas; assert evidently.__version__ == '0.7.23'"]
    if EVIDENTLY.exists() and subprocess.run(check, capture_output=True, env=env).returncode == 0:
        return EVIDENTLY
    print(f"building {EVIDENTLY_VENV.name}/ ({' '.join(EVIDENTLY_REQUIREMENTS)}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(EVIDENTLY_VENV)], check=True)
    install = subprocess.run([str(EVIDENTLY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              *EVIDENTLY_REQUIREMENTS], capture_output=True, text=True, env=env)  # fmt: skip
    if install.returncode != 0 or subprocess.run(check, capture_output=True, env=env).returncode != 0:
        print("note: could not build the Evidently venv, Evidently skipped:\n" + install.stderr[-2000:])
        return None
    return EVIDENTLY


def make_data(rows: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Reference and current tables; 8 continuous and 2 categorical features move a little."""
    rng = np.random.default_rng(seed)
    reference: dict[str, np.ndarray] = {}
    current: dict[str, np.ndarray] = {}
    for i in range(CONTINUOUS):
        kind, shift = i % 4, 0.02 if i % 5 == 0 else 0.0
        draw: Callable[[float], np.ndarray] = [
            lambda s: rng.normal(s, 1.0, rows),
            lambda s: rng.lognormal(s, 0.8, rows),
            lambda s: rng.uniform(s, 1 + s, rows),
            lambda s: np.round(rng.normal(10 + 10 * s, 3.0, rows)),  # integer-valued: many ties
        ][kind]
        reference[f"num_{i:02d}"], current[f"num_{i:02d}"] = draw(0.0), draw(shift)
    categorical = []
    for i in range(CATEGORICAL):
        levels = np.array([f"level_{k}" for k in range(5 + 5 * i)])
        p = rng.dirichlet(np.ones(levels.size) * 2)
        q = p if i % 5 else rng.dirichlet(np.ones(levels.size) * 2)
        name = f"cat_{i:02d}"
        reference[name] = rng.choice(levels, rows, p=p).astype(object)
        current[name] = rng.choice(levels, rows, p=q).astype(object)
        categorical.append(name)
    return reference, current, categorical


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_evidently(reference: dict[str, np.ndarray], current: dict[str, np.ndarray], categorical: list[str],
                  rows: int, repeat: int) -> list[dict[str, object]]:  # fmt: skip
    python = evidently_python()
    if python is None:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        continuous = [n for n in reference if n not in categorical]
        (folder / "columns.json").write_text(json.dumps({"continuous": continuous, "categorical": categorical}))
        for name in reference:
            for role, data in (("reference", reference), ("current", current)):
                values = data[name][:rows]
                np.save(folder / f"{role}_{name}.npy", values.astype(str) if name in categorical else values)
        env = {**os.environ, "DO_NOT_TRACK": "1"}
        result = subprocess.run([str(python), str(Path(__file__).with_name("_evidently_drift.py")), tmp,
                                 str(rows), str(repeat)], capture_output=True, text=True, env=env, timeout=7200)  # fmt: skip
        if result.returncode != 0:
            print("note: Evidently failed:\n" + result.stderr[-2000:])
            return []
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evidently-rows", type=int, default=None, help="rows for Evidently (default: --rows)")
    parser.add_argument("--repeat", type=int, default=3, help="best of K runs, for every tool")
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently")
    args = parser.parse_args()
    rows = args.rows
    print(f"machine: {machine()}; {rows:,} rows x {CONTINUOUS + CATEGORICAL} columns "
          f"({CONTINUOUS} continuous, {CATEGORICAL} categorical), reference and current")  # fmt: skip
    reference, current, categorical = make_data(rows)
    continuous = [n for n in reference if n not in categorical]
    settings = DriftSettings()

    from scipy import stats  # imported before timing: about a second, once

    def scipy_loop() -> dict[str, tuple[float, float]]:
        out = {}
        for name in continuous:
            r = stats.ks_2samp(reference[name], current[name])
            out[name] = (float(r.statistic), float(r.pvalue))
        return out

    def mlpipex_continuous() -> object:
        ref = Reference.from_columns({n: reference[n] for n in continuous})
        return detect_drift(ref, {n: current[n] for n in continuous}, settings)

    def mlpipex_all() -> object:
        return detect_drift(Reference.from_columns(reference, categorical), current, settings)

    prebuilt = Reference.from_columns(reference, categorical)
    profile = build_profile(reference, list(reference), categorical=categorical)
    from_profile = Reference.from_profile(profile)

    def sort_floor() -> None:
        for name in continuous:
            np.sort(reference[name])
            np.sort(current[name])

    t_floor, _ = best_of(args.repeat, sort_floor)
    t_scipy, scipy_result = best_of(args.repeat, scipy_loop)
    t_cont, cont_report = best_of(args.repeat, mlpipex_continuous)
    t_all, _ = best_of(args.repeat, mlpipex_all)
    t_prebuilt, _ = best_of(args.repeat, lambda: detect_drift(prebuilt, current, settings))
    t_profile, profile_report = best_of(args.repeat, lambda: detect_drift(from_profile, current, settings))

    # Same statistics as scipy, feature by feature.
    worst_d = worst_p = 0.0
    smallest_p = 1.0
    for feature in cont_report.features:  # type: ignore[attr-defined]
        d, p = scipy_result[feature.name]  # type: ignore[index]
        worst_d = max(worst_d, abs(feature.statistic - d))  # scipy subtracts two float CDFs: ~1e-16 off
        worst_p = max(worst_p, abs(feature.p_value - p) / p if p else abs(feature.p_value))
        smallest_p = min(smallest_p, p)
    assert worst_d <= 1e-14 and worst_p <= 1e-9, f"mlpipex differs from scipy: D by {worst_d}, p by {worst_p} (relative)"
    print(f"KS statistics and p-values equal to scipy's on all {len(continuous)} continuous features "
          f"(largest difference: D {worst_d:.1e} absolute, p {worst_p:.1e} relative; smallest p {smallest_p:.1e})")  # fmt: skip
    drifted_raw = sorted(f.name for f in cont_report.features if f.drifted)  # type: ignore[attr-defined]
    all_report = detect_drift(prebuilt, current, settings)
    print(f"mlpipex, all 50 features: {len(all_report.drifted_features)} drifted "
          f"({', '.join(f.name for f in all_report.drifted_features)})")  # fmt: skip
    drifted_profile = sorted(f.name for f in profile_report.features if f.drifted)  # type: ignore[attr-defined]
    print(f"drifted continuous features (raw reference): {len(drifted_raw)}; "
          f"against the packaged profile (1,001 quantiles): {len([n for n in drifted_profile if n in continuous])}")  # fmt: skip

    rows_out = [
        ["np.sort of both sides (the floor)", f"{len(continuous)} continuous", f"{t_floor:.2f}",
         f"{t_floor / t_cont:.2f}x"],
        ["scipy.stats.ks_2samp loop", f"{len(continuous)} continuous", f"{t_scipy:.2f}", f"{t_scipy / t_cont:.1f}x"],
        ["mlpipex (reference from columns)", f"{len(continuous)} continuous", f"{t_cont:.2f}", "1.0x"],
        ["mlpipex (reference from columns)", "all 50", f"{t_all:.2f}", ""],
        ["mlpipex (reference prepared once)", "all 50", f"{t_prebuilt:.2f}", ""],
        ["mlpipex (packaged profile)", "all 50", f"{t_profile:.2f}", ""],
    ]
    ev_rows = args.evidently_rows or rows
    results = [] if args.no_evidently else run_evidently(reference, current, categorical, ev_rows, args.repeat)
    t_small_cache: tuple[float, None] | None = None
    for result in results:
        label = f"Evidently 0.7.23, {result['config']}"
        size = "all 50" + ("" if ev_rows == rows else f" ({ev_rows:,} rows)")
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        if ev_rows == rows:
            ratio = f"{seconds / t_all:.1f}x"
        else:  # mlpipex timed at Evidently's size too, for a ratio at equal size
            t_small, _ = t_small_cache or best_of(args.repeat, lambda: detect_drift(
                Reference.from_columns({n: v[:ev_rows] for n, v in reference.items()}, categorical),
                {n: v[:ev_rows] for n, v in current.items()}, settings))  # fmt: skip
            t_small_cache = (t_small, None)
            ratio = f"{seconds / t_small:.1f}x (mlpipex {t_small:.2f} s at that size)"
        rows_out.append([label, size, f"{seconds:.2f}", ratio])
        print(f"Evidently ({result['config']}): {int(result['drifted'] or 0)} drifted columns")  # type: ignore[call-overload]
    print()
    print(table(["tool", "columns", f"seconds (best of {args.repeat})", "time vs mlpipex"], rows_out))
    print(f"targets: scipy loop / mlpipex >= 10 (got {t_scipy / t_cont:.1f}); mlpipex / sort floor <= 2 "
          f"(got {t_cont / t_floor:.2f}); Evidently (KS + PSI) / mlpipex >= 20 (see above)")  # fmt: skip


if __name__ == "__main__":
    main()
