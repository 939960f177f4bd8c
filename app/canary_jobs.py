"""The canary analysis as durable jobs: one judged step per job, the next one an interval later.

A rollout that leaves a canary running schedules ``canary.step``. Each step reads
the samples, judges, advances, holds or rolls back (kserve.steps.canary_step, the
same code as `mlpipex canary run`), records it, and schedules the next step until
the canary has all the traffic or is gone. The queue is the timer: an App that is
killed mid-canary picks the step up again after its restart, and the object's own
history (stamped with the job) keeps a re-run from taking the same step twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpipex.app.commanding import choose_config, lock_key, record
from mlpipex.app.forge import RepoForge
from mlpipex.app.registry import JobContext, PermanentJobError, register
from mlpipex.app.rollouts import Outcome, Rollouts, environment_named, event_of, stamp
from mlpipex.kserve.rollout import state_of

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.analysis import MetricsSource

__all__ = ["KIND", "metrics_source", "on_canary_step", "schedule_next_step"]

KIND = "canary.step"


def schedule_next_step(ctx: JobContext, repository: str, config: Config, env_name: str, outcome: Outcome,
                       *, step: int = 0) -> bool:  # fmt: skip
    """Queue the next judgement an interval from now; False when nobody analyses this canary."""
    from mlpipex.kserve.promotion import parse_duration

    env = environment_named(config, env_name)
    if env.canary is None or not env.canary.metrics:
        return False  # no metrics to judge: the canary moves by /promote only
    model = config.model.name
    payload = {"repository": {"full_name": repository}, "installation": {"id": ctx.installation_id},
               "model": model, "environment": env.name, "artifact": outcome.to_digest, "step": step + 1}  # fmt: skip
    ctx.store.jobs.enqueue(KIND, payload, delay_seconds=parse_duration(env.canary.interval),
                           dedupe_key=f"canary:{repository}:{model}:{env.name}:{outcome.to_digest}:{step + 1}")  # fmt: skip
    return True


def metrics_source(config: Config, env: EnvironmentConfig, monitor_url: str | None = None) -> MetricsSource:
    from mlpipex.kserve.analysis import PrometheusSource
    from mlpipex.kserve.promotion import parse_duration

    assert env.canary is not None
    prometheus = config.deploy.prometheus
    if prometheus is not None:
        return PrometheusSource(prometheus.url, {m.name: m.query for m in env.canary.metrics},
                                window_seconds=parse_duration(env.canary.interval) or 60,
                                step_seconds=prometheus.step_seconds, timeout=prometheus.timeout)  # fmt: skip
    monitor = config.deploy.monitor.url if config.deploy.monitor is not None else monitor_url
    if monitor:
        from mlpipex.monitor import MonitorSource

        timeout = config.deploy.monitor.timeout if config.deploy.monitor is not None else 10.0
        return MonitorSource(monitor, timeout=timeout)
    raise PermanentJobError(f"{config.model.name} in {env.name}: no metrics source for the canary analysis "
                            "(set deploy.monitor or deploy.prometheus in mlpipex.yaml, or MLPIPEX_METRICS_URL)")  # fmt: skip


@register(KIND)
def on_canary_step(payload: dict[str, Any], ctx: JobContext, *, rollouts: Rollouts | None = None,
                   source: MetricsSource | None = None) -> None:  # fmt: skip
    from mlpipex.rollouts._steps import canary_step
    from mlpipex.stats.canary import Action

    repository = payload["repository"]["full_name"]
    forge = RepoForge(ctx.github(), repository)
    chosen = choose_config(forge.configs(forge.default_branch()), payload["model"])
    if isinstance(chosen, str):
        raise PermanentJobError(chosen)
    config, rollouts = chosen, rollouts or Rollouts(ctx.settings)
    env = environment_named(config, payload["environment"])
    kube = rollouts.cluster(env)
    name = config.deploy.name or config.model.name
    state = state_of(kube.get(env.namespace, name))
    by = stamp("mlpipex canary", ctx.job_id)
    if state.artifact != payload["artifact"] or not state.in_canary:
        return  # someone promoted, rolled back or deployed since: this canary is over
    holder = f"job:{ctx.job_id}"
    lock = ctx.store.locks.acquire(lock_key(repository, config.model.name), holder, reason="canary analysis", ttl_seconds=900)
    if not lock.acquired:
        raise RuntimeError(f"{config.model.name} is locked by {lock.holder}; the canary step will be retried")
    try:
        if state.history and state.history[-1].get("by") == by:  # this job's step was applied before a crash
            outcome = Outcome(event_of("canary", config.model.name, env, name, True, kube.get(env.namespace, name) or {},
                                              "already done"), to_digest=state.artifact, in_canary=state.in_canary, repeated=True)  # fmt: skip
            finished = not state.in_canary
        else:
            step = canary_step(kube, kube.crd(), config, env, source or metrics_source(config, env, _monitor(ctx)),
                               timeout=rollouts.timeout, by=by)  # fmt: skip
            if step is None:
                return
            after = state_of(step.service)
            event = event_of(f"canary {step.decision.action.value}", config.model.name, env, name,
                                    step.decision.action is not Action.ROLLBACK, step.service,
                                    f"{env.name}: {step.decision.action.value} at {step.traffic_before}% → "
                                    f"{step.traffic_after}%: {step.decision.reason}")  # fmt: skip
            outcome = Outcome(event, from_digest=state.artifact, to_digest=after.artifact, in_canary=after.in_canary)
            finished = step.finished
            if step.decision.action is not Action.HOLD:
                record(ctx, forge, repository, config, outcome, actor="mlpipex canary", sha=None)
    finally:
        ctx.store.locks.release(lock_key(repository, config.model.name), holder)
    if not finished:
        schedule_next_step(ctx, repository, config, env.name, outcome, step=int(payload.get("step", 1)))


def _monitor(ctx: JobContext) -> str | None:
    return ctx.settings.metrics_url if ctx.settings else None
