"""Bootstrap intervals: equal to the naive definition, calibrated, deterministic, fast."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from scipy import stats

from mlpipex.stats import Interval, bootstrap_percentile_ci, bootstrap_ratio_ci, percentile
from mlpipex.stats import percentiles as module


def naive_percentile_ci(data, q, confidence, n_resamples, seed):
    """The textbook definition, all resamples at once: what the chunked fast path must equal."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(n_resamples, len(data)), dtype=np.int32)
    values = np.percentile(data[idx], q, axis=1)
    alpha = (1 - confidence) / 2
    return np.percentile(values, [100 * alpha, 100 * (1 - alpha)])


def best_of(runs, fn):
    """Best wall time of a few runs: a busy CI machine should not fail a speed test."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("n", [1, 2, 7, 1001])
def test_percentile_matches_numpy(n):
    data = np.random.default_rng(n).exponential(size=n)
    for q in (0, 12.5, 50, 95, 99, 100):
        assert percentile(data, q) == np.percentile(data, q)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5  # linear interpolation


@pytest.mark.parametrize(
    ("samples", "q", "message"),
    [
        ([], 50, "no samples"),
        ([1.0, np.nan], 50, "1 NaN or infinite"),
        ([[1.0, 2.0]], 50, "must be 1-D"),
        ([1.0, 2.0], 101, "between 0 and 100"),
        ([1.0, 2.0], -1, "between 0 and 100"),
    ],
)
def test_bad_percentile_inputs(samples, q, message):
    with pytest.raises(ValueError, match=message):
        percentile(samples, q)
    with pytest.raises(ValueError, match=message):
        bootstrap_percentile_ci(samples, q)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("q", [0, 50, 90, 99.5, 100])
def test_resampled_percentiles_equal_numpy_per_row(seed, q):
    """The rank-sorting shortcut gives exactly np.percentile of each resample."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(size=301), 1)  # ties
    idx = rng.integers(0, len(values), size=(50, len(values)))
    got = module._row_percentile(values, q)(idx)
    np.testing.assert_allclose(got, np.percentile(values[idx], q, axis=1), rtol=1e-15, atol=0)
    np.testing.assert_allclose(module._row_mean(values)(idx), values[idx].mean(axis=1), rtol=1e-15)


@pytest.mark.parametrize(("n", "q", "confidence"), [(50, 50, 0.95), (333, 95, 0.9), (1000, 99, 0.99)])
def test_interval_equals_the_naive_bootstrap(n, q, confidence):
    data = np.random.default_rng(n).gamma(2.0, size=n)
    got = bootstrap_percentile_ci(data, q, confidence=confidence, n_resamples=700, seed=11)
    low, high = naive_percentile_ci(data, q, confidence, 700, seed=11)
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-12)
    assert got.estimate == np.percentile(data, q) and got.confidence == confidence


@pytest.mark.parametrize("chunk", [1, 3 * 257, 10_000])
def test_chunking_does_not_change_the_answer(monkeypatch, chunk):
    """Chunks are consecutive draws of one stream: every size gives the same resamples."""
    data = np.random.default_rng(3).normal(10, 1, size=257)
    expected = bootstrap_percentile_ci(data, 90, n_resamples=101, seed=5)
    expected_ratio = bootstrap_ratio_ci(data + 1, data, n_resamples=101, seed=5)
    monkeypatch.setattr(module, "_CHUNK_INDICES", chunk)
    assert bootstrap_percentile_ci(data, 90, n_resamples=101, seed=5) == expected
    assert bootstrap_ratio_ci(data + 1, data, n_resamples=101, seed=5) == expected_ratio


def test_agrees_with_scipy_bootstrap():
    """An independent implementation (other random draws): bounds within a few % of the width."""
    data = np.random.default_rng(8).lognormal(size=400)
    ours = bootstrap_percentile_ci(data, 90, n_resamples=20_000, seed=1)
    theirs = stats.bootstrap((data,), lambda x, axis: np.percentile(x, 90, axis=axis), n_resamples=20_000,
                             method="percentile", random_state=2).confidence_interval  # fmt: skip
    width = ours.high - ours.low
    assert abs(ours.low - theirs.low) < 0.05 * width
    assert abs(ours.high - theirs.high) < 0.05 * width


def test_hand_computed_two_point_sample():
    """Resampled medians of [1, 2] are 1, 1.5 or 2 with chances 1/4, 1/2, 1/4."""
    interval = bootstrap_percentile_ci([1.0, 2.0], 50, n_resamples=2000)
    assert interval == Interval(estimate=1.5, low=1.0, high=2.0, confidence=0.95)
    narrow = bootstrap_percentile_ci([1.0, 2.0], 50, confidence=0.4, n_resamples=2000)
    assert (narrow.low, narrow.high) == (1.5, 1.5)
    assert bootstrap_percentile_ci([5.0] * 10, 95) == Interval(5.0, 5.0, 5.0, 0.95)


def test_interval_contains_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small = bootstrap_percentile_ci(rng.normal(size=100), 50)
    large = bootstrap_percentile_ci(rng.normal(size=10_000), 50)
    for interval in (small, large):
        assert interval.low < interval.estimate < interval.high
        assert interval.estimate in interval
    assert (large.high - large.low) < (small.high - small.low) / 4  # ~1/10 expected (√100)


def test_higher_confidence_is_wider():
    data = np.random.default_rng(4).exponential(size=500)
    widths = [
        (lambda i: i.high - i.low)(bootstrap_percentile_ci(data, 95, confidence=c, n_resamples=2000))
        for c in (0.8, 0.95, 0.99)
    ]
    assert widths[0] < widths[1] < widths[2]


def test_coverage_is_near_nominal():
    """Over 200 seeded samples of a known distribution, ~95% of intervals hold the true percentile."""
    for q, distribution in ((50, stats.lognorm(s=0.5)), (90, stats.expon())):
        truth = distribution.ppf(q / 100)
        hits = 0
        for seed in range(200):
            sample = distribution.rvs(size=300, random_state=seed)
            hits += truth in bootstrap_percentile_ci(sample, q, n_resamples=400, seed=seed)
        assert 0.88 <= hits / 200 <= 0.99, (q, hits)


def test_deterministic_for_a_seed():
    data = np.random.default_rng(2).normal(size=500)
    assert bootstrap_percentile_ci(data, 95, seed=3) == bootstrap_percentile_ci(data, 95, seed=3)
    assert bootstrap_percentile_ci(data, 95, seed=3) != bootstrap_percentile_ci(data, 95, seed=4)
    ratio = bootstrap_ratio_ci(data + 5, data + 4, seed=3)
    assert ratio == bootstrap_ratio_ci(data + 5, data + 4, seed=3) != bootstrap_ratio_ci(data + 5, data + 4, seed=4)


def test_interval_is_frozen_and_tests_membership_inclusively():
    interval = Interval(estimate=1.0, low=0.5, high=2.0, confidence=0.95)
    assert 0.5 in interval and 2.0 in interval and 2.01 not in interval and 0.49 not in interval
    with pytest.raises(dataclasses.FrozenInstanceError):
        interval.low = 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 0.0}, "confidence must be between 0 and 1"),
        ({"confidence": 1.0}, "confidence must be between 0 and 1"),
        ({"n_resamples": 0}, "n_resamples must be a positive integer"),
        ({"n_resamples": 2.5}, "n_resamples must be a positive integer"),
    ],
)
def test_bad_bootstrap_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_percentile_ci([1.0, 2.0], 50, **kwargs)
    with pytest.raises(ValueError, match=message):
        bootstrap_ratio_ci([1.0, 2.0], [1.0, 2.0], **kwargs)


def interleaved_timings(seed, n, slowdown):
    """A B A B latencies on a machine whose speed drifts: each pair shares the drift."""
    rng = np.random.default_rng(seed)
    drift = 1 + 0.8 * np.sin(np.linspace(0, 6 * np.pi, n)) + rng.gamma(2, 0.3, n)
    baseline = drift * rng.lognormal(0, 0.02, n)
    candidate = drift * slowdown * rng.lognormal(0, 0.02, n)
    return candidate, baseline


def test_ratio_of_identical_samples_is_about_one():
    candidate, baseline = interleaved_timings(5, 400, slowdown=1.0)
    for statistic in ("median", "mean"):
        same = bootstrap_ratio_ci(candidate, baseline, statistic=statistic)
        assert 1.0 in same and same.estimate == pytest.approx(1.0, abs=0.03)
    exact = bootstrap_ratio_ci(baseline, baseline)
    assert exact == Interval(1.0, 1.0, 1.0, 0.95)


def test_ratio_of_a_thirty_percent_slower_sample_excludes_one():
    candidate, baseline = interleaved_timings(6, 400, slowdown=1.3)
    for statistic in ("median", "mean"):
        slower = bootstrap_ratio_ci(candidate, baseline, statistic=statistic)
        assert slower.low > 1.2 and slower.estimate == pytest.approx(1.3, abs=0.05)
        assert 1.0 not in slower
    median = bootstrap_ratio_ci(candidate, baseline)
    assert median.estimate == pytest.approx(np.median(candidate) / np.median(baseline), rel=1e-15)


def test_pairing_cancels_shared_drift():
    """Paired resampling keeps each pair's drift together: a far narrower interval than unpaired."""
    candidate, baseline = interleaved_timings(8, 600, slowdown=1.05)
    paired = bootstrap_ratio_ci(candidate, baseline)
    unpaired = bootstrap_ratio_ci(candidate, baseline, paired=False)
    assert paired.estimate == unpaired.estimate
    assert (paired.high - paired.low) < (unpaired.high - unpaired.low) / 2.5  # about /5
    assert paired.low > 1.0 and unpaired.low < 1.0  # only pairing sees the 5% slowdown


def test_unpaired_samples_may_differ_in_length():
    rng = np.random.default_rng(9)
    slower = bootstrap_ratio_ci(rng.gamma(5, 0.26, size=300), rng.gamma(5, 0.2, size=500), paired=False)
    assert slower.low > 1.0 and slower.estimate == pytest.approx(1.3, abs=0.1)


@pytest.mark.parametrize(
    ("numerator", "denominator", "kwargs", "message"),
    [
        (np.ones(3), np.ones(4), {}, "paired samples need equal lengths, got 3 and 4"),
        (np.array([]), np.array([]), {}, "no samples in numerator"),
        (np.ones(3), np.array([1.0, np.inf, 1.0]), {}, "denominator has 1 NaN or infinite"),
        (np.ones(3), np.ones(3), {"statistic": "p95"}, "statistic must be 'median' or 'mean'"),
        (np.ones(3), np.zeros(3), {}, "denominator's median is 0"),
        (np.ones(3), np.array([0.0, 0.0, 9.0]), {"statistic": "mean", "n_resamples": 200},
         "is 0 in some resamples"),
    ],
)
def test_bad_ratio_inputs(numerator, denominator, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ratio_ci(numerator, denominator, **kwargs)


def test_fast_enough_for_the_gates():
    """5,000 samples × 1,000 resamples well under half a second (about 0.1 s on a CI core)."""
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(size=5000), rng.lognormal(size=5000)
    assert best_of(3, lambda: bootstrap_percentile_ci(a, 95)) < 0.5
    assert best_of(3, lambda: bootstrap_ratio_ci(a, b)) < 0.5
    assert best_of(3, lambda: bootstrap_ratio_ci(a, b, paired=False)) < 0.5
