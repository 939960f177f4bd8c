"""Bootstrap intervals: correct, calibrated, deterministic, fast enough for the gates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlpipex.stats import bootstrap_percentile_ci, bootstrap_ratio_ci, percentile


def test_percentile_matches_numpy():
    data = np.random.default_rng(0).exponential(size=1001)
    for q in (50, 95, 99):
        assert percentile(data, q) == pytest.approx(np.percentile(data, q))


def test_interval_contains_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small = bootstrap_percentile_ci(rng.normal(size=100), 50)
    large = bootstrap_percentile_ci(rng.normal(size=10_000), 50)
    for interval in (small, large):
        assert interval.low <= interval.estimate <= interval.high
    assert (large.high - large.low) < (small.high - small.low) / 4


def test_coverage_is_near_nominal():
    """Over 200 seeded samples of a known distribution, ~95% of intervals hold the true median."""
    true_median = stats.lognorm(s=0.5).median()
    hits = 0
    for seed in range(200):
        sample = stats.lognorm(s=0.5).rvs(size=300, random_state=seed)
        hits += true_median in bootstrap_percentile_ci(sample, 50, n_resamples=400, seed=seed)
    assert 0.88 <= hits / 200 <= 0.99


def test_deterministic_for_a_seed():
    data = np.random.default_rng(2).normal(size=500)
    assert bootstrap_percentile_ci(data, 95, seed=3) == bootstrap_percentile_ci(data, 95, seed=3)
    assert bootstrap_percentile_ci(data, 95, seed=3) != bootstrap_percentile_ci(data, 95, seed=4)


def test_ratio_of_identical_and_of_slower_samples():
    rng = np.random.default_rng(5)
    base = rng.gamma(5, 0.2, size=400)
    same = bootstrap_ratio_ci(base * rng.normal(1, 0.02, 400), base)
    assert 1.0 in same and same.estimate == pytest.approx(1.0, abs=0.02)
    slower = bootstrap_ratio_ci(base * 1.3, base)
    assert slower.low > 1.2 and slower.estimate == pytest.approx(1.3)
    unpaired = bootstrap_ratio_ci(rng.gamma(5, 0.26, size=300), rng.gamma(5, 0.2, size=500), paired=False)
    assert unpaired.low > 1.0


def test_paired_needs_equal_lengths_and_no_empty_samples():
    with pytest.raises(ValueError, match="equal lengths"):
        bootstrap_ratio_ci(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="no samples"):
        bootstrap_percentile_ci(np.array([]), 50)
