"""Canary analysis on synthetic samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipex.stats.canary import Action, Verdict, decide, judge_metric


def latencies(seed: int, scale: float = 1.0, n: int = 400) -> np.ndarray:
    return np.random.default_rng(seed).gamma(4.0, 5.0, n) * scale


def test_equal_distributions_advance_at_the_nominal_false_alarm_rate():
    failures = sum(judge_metric("latency", latencies(seed), latencies(seed + 1000), margin=0.0).verdict
                   is Verdict.FAIL for seed in range(200))  # fmt: skip
    assert failures / 200 <= 0.10  # alpha = 0.05, one-sided
    judgement = judge_metric("latency", latencies(1), latencies(2))
    assert judgement.verdict is Verdict.PASS
    assert decide([judgement]).action is Action.ADVANCE


def test_thirty_percent_slower_canary_rolls_back():
    judgement = judge_metric("latency_p95", latencies(3, 1.3), latencies(4), margin=0.1)
    assert judgement.verdict is Verdict.FAIL
    assert judgement.relative_change == pytest.approx(0.3, abs=0.1)
    assert judgement.effect_size > 0.55 and judgement.p_value < 0.05
    decision = decide([judgement])
    assert decision.action is Action.ROLLBACK and "latency_p95" in decision.reason


def test_a_worsening_inside_the_margin_passes():
    assert judge_metric("latency", latencies(5, 1.05, 5000), latencies(6, 1.0, 5000), margin=0.1).verdict is Verdict.PASS


def test_higher_is_better_metrics():
    confident = np.random.default_rng(7).beta(8, 2, 500)
    worse = np.random.default_rng(8).beta(5, 3, 500)
    assert judge_metric("confidence", worse, confident, direction="higher", margin=0.05).verdict is Verdict.FAIL
    assert judge_metric("confidence", confident, worse, direction="higher", margin=0.05).verdict is Verdict.PASS


def test_error_rates_as_zero_one_samples():
    rng = np.random.default_rng(9)
    stable = (rng.random(2000) < 0.01).astype(float)
    broken = (rng.random(2000) < 0.08).astype(float)
    assert judge_metric("error_rate", broken, stable, margin=0.0).verdict is Verdict.FAIL
    same = (rng.random(2000) < 0.01).astype(float)
    assert judge_metric("error_rate", same, stable, margin=0.0).verdict is Verdict.PASS


def test_too_few_samples_hold():
    judgement = judge_metric("latency", latencies(1, n=20), latencies(2), min_samples=50)
    assert judgement.verdict is Verdict.INCONCLUSIVE and "20 samples, 50 needed" in judgement.reason
    assert decide([judgement]).action is Action.HOLD


def test_allowed_failures_hold_before_rolling_back():
    bad = judge_metric("latency", latencies(3, 1.5), latencies(4))
    first = decide([bad], failures_so_far=0, max_failures=1)
    assert first.action is Action.HOLD and first.failures == 1
    second = decide([bad], failures_so_far=first.failures, max_failures=1)
    assert second.action is Action.ROLLBACK and second.failures == 2
