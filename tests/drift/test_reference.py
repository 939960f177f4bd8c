"""Drift against a packaged reference profile: the quantile-sketch KS is close to the raw-data KS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlpipex.drift import Reference, detect_drift
from mlpipex.errors import InputError
from mlpipex.stats.profile import build_profile, profile_chunks

DISTRIBUTIONS = {
    "normal": lambda rng, n: rng.normal(size=n),
    "lognormal": lambda rng, n: rng.lognormal(0, 1.5, n),
    "bimodal": lambda rng, n: np.where(rng.random(n) < 0.3, rng.normal(-3, 0.5, n), rng.normal(2, 1, n)),
    "with_atoms": lambda rng, n: np.where(rng.random(n) < 0.4, 0.0, rng.exponential(2, n)),  # 40% zeros
    "integers": lambda rng, n: rng.poisson(3, n).astype(float),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_profile_ks_is_within_the_documented_bound_of_raw_ks(name: str) -> None:
    rng = np.random.default_rng(len(name))
    draw = DISTRIBUTIONS[name]
    n_ref = 50_000
    reference = draw(rng, n_ref)
    profile = build_profile({"x": reference}, ["x"])
    from_profile = Reference.from_profile(profile)
    from_raw = Reference.from_columns({"x": reference})
    probs = np.array(profile["features"]["x"]["quantiles"]["probs"])
    bound = float(np.diff(probs).max()) + 1 / n_ref  # one bin's mass plus the sketch's rank rounding
    assert bound < 0.0011
    for shift in (0.0, 0.05, 0.3):
        current = {"x": draw(rng, 20_000) + shift}
        approx = detect_drift(from_profile, current).features[0]
        exact = detect_drift(from_raw, current).features[0]
        assert exact.statistic == pytest.approx(stats.ks_2samp(reference, current["x"]).statistic, abs=1e-12)
        assert abs(approx.statistic - exact.statistic) <= bound  # type: ignore[operator]
        if name in ("normal", "lognormal", "bimodal"):  # smooth: far inside the bound
            assert abs(approx.statistic - exact.statistic) <= 0.0005  # type: ignore[operator]
        assert approx.n_reference == n_ref and approx.test == "ks"


def test_a_large_streamed_profile_still_finds_a_small_shift() -> None:
    """A 400k-row reference profiled in chunks (approximate sketch) against 5k current rows."""
    rng = np.random.default_rng(11)
    chunks = [{"x": rng.normal(size=100_000)} for _ in range(4)]
    profile = profile_chunks(lambda: chunks, ["x"])
    assert "approximate" in profile["features"]["x"]
    reference = Reference.from_profile(profile)
    assert detect_drift(reference, {"x": rng.normal(size=5000)}).verdict == "no_drift"
    assert detect_drift(reference, {"x": rng.normal(0.1, 1, 5000)}).verdict == "drift"


def test_profile_categories_pooled_as_other() -> None:
    rng = np.random.default_rng(12)
    names = np.array([f"c{i:03d}" for i in range(150)], dtype=object)  # beyond 100 categories: pooled
    reference = rng.choice(names, 30_000)
    profile = build_profile({"c": reference}, ["c"], categorical=["c"])
    assert profile["features"]["c"]["other"] > 0
    ref = Reference.from_profile(profile)
    [same] = detect_drift(ref, {"c": rng.choice(names, 30_000)}).features
    assert same.buckets[-1]["label"] == "(other)" and same.psi < 0.02 and not same.drifted  # type: ignore[operator]
    [new] = detect_drift(ref, {"c": np.array(["brand-new"] * 30_000, dtype=object)}).features
    assert new.drifted


def test_profile_keeps_null_rates() -> None:
    values = np.arange(1000.0)
    values[:100] = np.nan
    reference = Reference.from_profile(build_profile({"x": values}, ["x"]))
    [feature] = detect_drift(reference, {"x": np.arange(1000.0)}).features
    assert feature.null_rate_reference == pytest.approx(0.1) and feature.n_reference == 900


@pytest.mark.parametrize("profile, message", [
    ({"format": "other/v9", "features": {}}, "not a reference profile"),
    ({"format": "mlpipex.profile/v1", "features": {}}, "no features"),
    ({"format": "mlpipex.profile/v1", "features": {"x": {"kind": "continuous"}}}, "`x` is malformed"),
    ([1, 2], "not a reference profile"),
])  # fmt: skip
def test_malformed_profiles_are_input_errors(profile: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Reference.from_profile(profile)  # type: ignore[arg-type]


def test_no_false_alarm_against_a_streamed_profile_at_scale() -> None:
    """400k identical rows resolve D to ~0.003: the sketch must be finer than that (101 quantiles were not)."""
    rng = np.random.default_rng(13)
    n = 400_000
    draws = {"normal": lambda: rng.normal(size=n), "lognormal": lambda: rng.lognormal(0, 0.8, n),
             "integers": lambda: np.round(rng.normal(10, 3, n))}  # fmt: skip
    reference = {name: draw() for name, draw in draws.items()}
    chunks = [{k: v[i:i + 100_000] for k, v in reference.items()} for i in range(0, n, 100_000)]
    profile = profile_chunks(lambda: chunks, list(draws))
    report = detect_drift(Reference.from_profile(profile), {name: draw() for name, draw in draws.items()})
    assert report.verdict == "no_drift", [(f.name, f.statistic, f.p_value) for f in report.features]
