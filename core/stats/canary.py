"""Canary analysis: is the canary worse than stable, beyond a tolerated margin?

Judged the way Kayenta judges: per metric, a one-sided Mann–Whitney U test of the
canary's samples against the stable ones shifted by the tolerated margin (so a
canary 5% slower passes a 10% margin however many samples there are), plus a
minimum sample size below which no verdict is given. Then one decision for the
step: advance, hold, or roll back. Pure: samples in, decision out.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Action", "Decision", "MetricJudgement", "decide", "judge_metric"]


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Action(str, enum.Enum):
    ADVANCE = "advance"
    HOLD = "hold"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class MetricJudgement:
    metric: str
    verdict: Verdict
    canary_median: float | None
    stable_median: float | None
    relative_change: float | None  # (canary - stable) / stable, of the medians
    p_value: float | None
    effect_size: float | None  # P(canary worse than shifted stable): 0.5 means no difference
    samples: tuple[int, int]  # (canary, stable)
    reason: str


@dataclass(frozen=True)
class Decision:
    action: Action
    failures: int  # failed judgements so far, this one included
    judgements: tuple[MetricJudgement, ...]
    reason: str


def judge_metric(
    metric: str,
    canary: Sequence[float] | np.ndarray,
    stable: Sequence[float] | np.ndarray,
    *,
    direction: str = "lower",
    margin: float = 0.1,
    alpha: float = 0.05,
    min_samples: int = 50,
) -> MetricJudgement:
    c = np.asarray(canary, dtype=np.float64)
    s = np.asarray(stable, dtype=np.float64)
    c, s = c[np.isfinite(c)], s[np.isfinite(s)]
    sizes = (int(c.size), int(s.size))
    if min(sizes) < min_samples:
        return MetricJudgement(metric, Verdict.INCONCLUSIVE, _median(c), _median(s), None, None, None, sizes,
                               f"{metric}: {min(sizes)} samples, {min_samples} needed for a verdict")  # fmt: skip
    try:
        from scipy.stats import mannwhitneyu  # a second to import: only when a canary is judged
    except ImportError:  # scipy is not in the base install
        from mlpipex.errors import InputError

        raise InputError("judging a canary needs scipy (the `kserve` extra)", fix="pip install 'mlpipex[kserve]'") from None

    # Shift stable by the margin in the direction of "worse": only a worsening beyond it counts.
    shifted = s * (1 + margin) if direction == "lower" else s * (1 - margin)
    alternative = "greater" if direction == "lower" else "less"
    result = mannwhitneyu(c, shifted, alternative=alternative, method="asymptotic")
    u = float(result.statistic)
    effect = u / (c.size * s.size) if direction == "lower" else 1 - u / (c.size * s.size)
    cm, sm = float(np.median(c)), float(np.median(s))
    change = (cm - sm) / abs(sm) if sm else (0.0 if cm == sm else float("inf"))
    worse = "slower/higher" if direction == "lower" else "lower"
    if result.pvalue < alpha:
        verdict = Verdict.FAIL
        reason = (f"{metric}: canary median {cm:.4g} vs stable {sm:.4g} ({change:+.1%}), significantly {worse} "
                  f"beyond the {margin:.0%} margin (p={result.pvalue:.2g})")  # fmt: skip
    else:
        verdict = Verdict.PASS
        reason = f"{metric}: canary median {cm:.4g} vs stable {sm:.4g} ({change:+.1%}), within the {margin:.0%} margin"
    return MetricJudgement(metric, verdict, cm, sm, change, float(result.pvalue), effect, sizes, reason)


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def decide(judgements: Sequence[MetricJudgement], *, failures_so_far: int = 0, max_failures: int = 0) -> Decision:
    """Any failure counts; more failures than allowed roll back; any inconclusive metric holds."""
    failed = [j for j in judgements if j.verdict is Verdict.FAIL]
    waiting = [j for j in judgements if j.verdict is Verdict.INCONCLUSIVE]
    failures = failures_so_far + (1 if failed else 0)
    if failed and failures > max_failures:
        return Decision(Action.ROLLBACK, failures, tuple(judgements), "; ".join(j.reason for j in failed))
    if failed:
        return Decision(Action.HOLD, failures, tuple(judgements),
                        f"failure {failures} of {max_failures} allowed: " + "; ".join(j.reason for j in failed))  # fmt: skip
    if waiting:
        return Decision(Action.HOLD, failures, tuple(judgements), "; ".join(j.reason for j in waiting))
    return Decision(Action.ADVANCE, failures, tuple(judgements), "all metrics within their margins")
