"""Gate 5, compare: the candidate against the model now deployed, on the same holdout.

Metric regressions are judged against per-metric limits (absolute, or relative as
"N%"). Latency is judged as a ratio measured by interleaving the two models in one
process (A B A B …), so both see the same machine noise; like the latency gate it
fails only when the whole confidence interval of the ratio is above the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mlpipex.config.model import CompareConfig, RegressionLimit
from mlpipex.gates._baseline import Baseline, Missing
from mlpipex.gates._context import GateContext
from mlpipex.gates._production import production_numbers
from mlpipex.gates.latency import batch_rows, judge
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.gates.smoke import compute_metrics, non_finite
from mlpipex.runtime import time_interleaved
from mlpipex.stats.metrics import HIGHER_IS_BETTER
from mlpipex.stats.percentiles import Interval, bootstrap_ratio_ci

NAME = "compare"


def regression(metric: str, candidate: float, baseline: float) -> float:
    """How much worse the candidate is (positive = worse), in the metric's units."""
    return baseline - candidate if metric in HIGHER_IS_BETTER else candidate - baseline


def judge_metric(metric: str, candidate: float, baseline: float, limit: RegressionLimit) -> bool:
    worse = regression(metric, candidate, baseline)
    if np.isnan(worse):
        return False
    allowed = limit.amount * abs(baseline) if limit.relative else limit.amount
    return worse <= allowed + 1e-12  # float noise must not fail an exact-limit tie


def evaluate(
    candidate: Mapping[str, float],
    baseline: Mapping[str, float],
    settings: CompareConfig,
    latency_ratio: Interval | None = None,
) -> GateResult:
    measurements: list[Measurement] = []
    failed: list[str] = []
    for metric, value in candidate.items():
        if metric not in baseline:
            continue
        limit = settings.metrics.get(metric)
        status = None
        if limit is not None:
            ok = judge_metric(metric, value, baseline[metric], limit)
            status = Status.PASS if ok else Status.FAIL
            if not ok:
                failed.append(f"{metric} {value:.4f} vs baseline {baseline[metric]:.4f} "
                              f"(allowed regression {limit.max_regression})")  # fmt: skip
        threshold = f"regression <= {limit.max_regression}" if limit else None
        measurements.append(Measurement(metric, _num(value), threshold=threshold, status=status,
                                        baseline=_num(baseline[metric])))  # fmt: skip
    latency_status = None
    if latency_ratio is not None:
        cap = settings.latency.max_ratio
        latency_status = judge(latency_ratio, cap)
        measurements.append(Measurement(
            "latency_ratio", round(latency_ratio.estimate, 4), "×", threshold=f"<= {cap:g}",
            status=latency_status, group=f"batch={settings.latency.batch_size}",
            ci_low=round(latency_ratio.low, 4), ci_high=round(latency_ratio.high, 4),
        ))  # fmt: skip
        if latency_status is Status.FAIL:
            failed.append(f"candidate is {latency_ratio.estimate:.2f}× the baseline's latency "
                          f"(CI {latency_ratio.low:.2f}–{latency_ratio.high:.2f}, limit {cap:g}×)")  # fmt: skip
    if failed:
        status, message = Status.FAIL, "; ".join(failed)
    elif latency_status is Status.WARN:
        assert latency_ratio is not None
        status = Status.WARN
        message = (f"latency ratio {latency_ratio.estimate:.2f}× is too close to the "
                   f"{settings.latency.max_ratio:g}× limit to call")  # fmt: skip
    else:
        deltas = [f"{m.name} {_signed(m.value, m.baseline)}" for m in measurements
                  if m.status is not None and m.baseline is not None][:3]  # fmt: skip
        if latency_ratio is not None:
            deltas.append(f"latency {latency_ratio.estimate:.2f}×")
        status, message = Status.PASS, "no regression" + (": " + ", ".join(deltas) if deltas else "")
    return GateResult(NAME, status, message, measurements,
                      details={"candidate_metrics": dict(candidate), "baseline_metrics": dict(baseline)})  # fmt: skip


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _signed(value: object, baseline: float | None) -> str:
    assert isinstance(value, float) and baseline is not None
    return f"{value - baseline:+.4f}"


def no_baseline(settings: CompareConfig, note: str | None = None) -> GateResult:
    """``note`` says why there is none (a baseline.artifact tag that does not exist yet)."""
    if settings.require_baseline:
        return GateResult(NAME, Status.FAIL, (note + "; " if note else "") +
                          "no baseline model to compare with, and gates.compare.require_baseline is on")  # fmt: skip
    return GateResult(NAME, Status.SKIP, note or
                      "no baseline configured (a first deployment?): set baseline.path or baseline.artifact to compare")  # fmt: skip


def run(ctx: GateContext) -> GateResult:
    config = ctx.config
    settings = config.gates.compare
    source = ctx.baseline_source
    if isinstance(source, Missing):
        return no_baseline(settings, source.note)
    baseline_model = ctx.baseline
    if baseline_model is None:
        return no_baseline(settings)
    holdout = ctx.holdout
    labels, task, positive = holdout.labels, config.model.task, config.data.positive_label
    ours, theirs = ctx.predictions("candidate"), ctx.predictions("baseline")
    if non_finite(ours):
        return GateResult(NAME, Status.SKIP, "skipped: the candidate's outputs are not finite (see smoke)")
    candidate_metrics = compute_metrics(task, labels, ours, positive)
    baseline_metrics = compute_metrics(task, labels, theirs, positive) if not non_finite(theirs) else {}
    ratio = None
    if settings.latency.enabled:
        rows = batch_rows(holdout.features, settings.latency.batch_size)
        ctx.progress("compare latency (A B A B …)", 0, settings.latency.iterations)
        a, b = time_interleaved(
            ctx.candidate.runner(ctx.candidate.feed(rows, holdout.feature_names)),
            baseline_model.runner(baseline_model.feed(rows, holdout.feature_names)),
            iterations=settings.latency.iterations,
            warmup=config.gates.latency.warmup,
        )
        ctx.progress("compare latency (A B A B …)", settings.latency.iterations, settings.latency.iterations)
        ratio = bootstrap_ratio_ci(a, b, statistic="median", confidence=config.gates.latency.confidence,
                                   n_resamples=config.gates.latency.resamples, seed=7)  # fmt: skip
    result = evaluate(candidate_metrics, baseline_metrics, settings, ratio)
    result.details["baseline_path"] = str(baseline_model.path)
    if isinstance(source, Baseline) and source.artifact:
        result.details["baseline_artifact"] = source.artifact
        result.details["baseline_version"] = source.version
        against = f"against {source.requested} = {source.artifact}, version {source.version}"
        if source.environment is not None:
            result.details["baseline_environment"] = source.environment
            result.details["baseline_serving"] = source.serving
            result.details["baseline_deployed_at"] = source.deployed_at
            against += f", deployed {source.deployed_at or 'unknown'}"
        result.message += f" ({against})"
        if source.notes:
            result.details["baseline_notes"] = list(source.notes)
            result.message += "; " + "; ".join(source.notes)
        production = production_numbers(source, config.deploy.monitor, ctx.read_monitor_windows)
        if production is not None:
            result.details["production"] = production
    result.details["confidence"] = config.gates.latency.confidence
    return result
