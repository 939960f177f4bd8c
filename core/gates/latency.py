"""Gate 4, latency: p50/p95/p99 per batch size against the SLA, with confidence intervals.

A shared CI runner is noisy. The gate therefore fails only when the whole
bootstrap interval of a percentile lies above its limit (the model is slow, not the
runner), and warns when the limit falls inside the interval (too close to call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mlpipex.config.model import LatencySla
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.runtime import time_calls
from mlpipex.stats.percentiles import Interval, bootstrap_percentile_ci

NAME = "latency"
PERCENTILES = (50, 95, 99)


def judge(interval: Interval, limit: float | None) -> Status | None:
    """Pass below the interval, warn inside it, fail when the interval is entirely above."""
    if limit is None:
        return None
    if interval.low > limit:
        return Status.FAIL
    if interval.high > limit:
        return Status.WARN
    return Status.PASS


def evaluate(
    samples: Mapping[int, np.ndarray],
    sla: Sequence[LatencySla],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
) -> GateResult:
    measurements: list[Measurement] = []
    worst: list[tuple[Status, str]] = []
    limits = {s.batch_size: s for s in sla}
    for batch, ms in samples.items():
        target = limits.get(batch)
        for q in PERCENTILES:
            interval = bootstrap_percentile_ci(ms, q, confidence=confidence, n_resamples=resamples, seed=q)
            limit = getattr(target, f"p{q}") if target else None
            status = judge(interval, limit)
            measurements.append(
                Measurement(
                    f"p{q}", round(interval.estimate, 4), "ms",
                    threshold=f"<= {limit:g} ms" if limit is not None else None, limit=limit,
                    status=status, group=f"batch={batch}",
                    ci_low=round(interval.low, 4), ci_high=round(interval.high, 4),
                )
            )  # fmt: skip
            if status in (Status.FAIL, Status.WARN):
                worst.append((status, f"p{q} at batch {batch}: {interval.estimate:.3g} ms "
                                      f"({confidence:.0%} CI {interval.low:.3g}–{interval.high:.3g}) "
                                      f"vs SLA {limit:g} ms"))  # fmt: skip
    failures = [m for s, m in worst if s is Status.FAIL]
    warnings = [m for s, m in worst if s is Status.WARN]
    if failures:
        status, message = Status.FAIL, "; ".join(failures[:2]) + (" …" if len(failures) > 2 else "")
    elif warnings:
        status = Status.WARN
        message = "too close to call: " + "; ".join(warnings[:2])
    else:
        parts = [f"p99 {m.value:.3g} ms @ batch {(m.group or '=?').split('=')[1]}"
                 for m in measurements if m.name == "p99"]  # fmt: skip
        status, message = Status.PASS, "within SLA: " + ", ".join(parts)
    return GateResult(
        NAME, status, message, measurements,
        details={"samples": {str(b): len(v) for b, v in samples.items()}, "confidence": confidence},
    )  # fmt: skip


def batch_rows(features: np.ndarray, batch: int) -> np.ndarray:
    """The first ``batch`` holdout rows, cycling when the holdout is smaller."""
    if features.shape[0] >= batch:
        return features[:batch]
    return np.resize(features, (batch, features.shape[1]))


def run(ctx: GateContext) -> GateResult:
    settings = ctx.config.gates.latency
    model = ctx.candidate
    holdout = ctx.holdout
    samples: dict[int, np.ndarray] = {}
    for sla in settings.sla:
        feed = model.feed(batch_rows(holdout.features, sla.batch_size), holdout.feature_names)
        ctx.progress(f"latency batch={sla.batch_size}", 0, settings.iterations)
        samples[sla.batch_size] = time_calls(
            model.runner(feed),
            iterations=settings.iterations,
            warmup=settings.warmup,
            time_budget=settings.time_budget,
        )
        ctx.progress(f"latency batch={sla.batch_size}", settings.iterations, settings.iterations)
    result = evaluate(samples, settings.sla, confidence=settings.confidence, resamples=settings.resamples)
    result.details.update(
        iterations=settings.iterations,
        warmup=settings.warmup,
        threads=settings.threads,
        providers=model.providers,
        skipped_providers=model.skipped_providers,
        device=model.device,
        format=model.format,
    )
    serves_on_gpu = bool(ctx.config.deploy.gpu and ctx.config.deploy.gpu.count)
    if serves_on_gpu and model.device == "cpu":
        result.message += (" — measured on the CPU: the model serves on a GPU (deploy.gpu), and this runner has "
                           f"none that {model.format} can use (asked for {', '.join(model.skipped_providers) or 'a GPU'})")  # fmt: skip
    elif model.skipped_providers:
        result.message += f" (not available here: {', '.join(model.skipped_providers)})"
    if model.device != "cpu":
        result.message += f" (measured on {model.device})"
    return result
