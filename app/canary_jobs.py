"""The canary analysis as durable jobs: one judged step per job, the next one an interval later.

A rollout that leaves a canary running schedules ``canary.step``. Each step reads
the samples, judges, advances, holds or rolls back (``Rollouts.canary_step``, the
same call as `mlpipex canary run`), records it, and schedules the next step until
the canary has all the traffic or is gone. The queue is the timer: an App that is
killed mid-canary picks the step up again after its restart, and the object's own
history (stamped with the job) keeps a re-run from taking the same step twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpipex.app.forge import RepoForge
from mlpipex.app.recording import choose_config, lock_key, record
from mlpipex.app.registry import JobContext, PermanentJobError, register
from mlpipex.app.rollouts import rollouts_for, stamp
from mlpipex.errors import InputError
from mlpipex.rollouts import Outcome, Rollouts, environment

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.kserve.analysis import MetricsSource

__all__ = ["KIND", "on_canary_step", "schedule_next_step"]

KIND = "canary.step"


def schedule_next_step(ctx: JobContext, repository: str, config: Config, env_name: str, outcome: Outcome,
                       *, step: int = 0) -> bool:  # fmt: skip
    """Queue the next judgement an interval from now; False when nobody analyses this canary."""
    from mlpipex.config.durations import parse_duration

    env = environment(config, env_name)
    if env.canary is None or not env.canary.metrics:
        return False  # no metrics to judge: the canary moves by /promote only
    model = config.model.name
    payload = {"repository": {"full_name": repository}, "installation": {"id": ctx.installation_id},
               "model": model, "environment": env.name, "artifact": outcome.to_digest, "step": step + 1}  # fmt: skip
    ctx.store.jobs.enqueue(KIND, payload, delay_seconds=parse_duration(env.canary.interval),
                           dedupe_key=f"canary:{repository}:{model}:{env.name}:{outcome.to_digest}:{step + 1}")  # fmt: skip
    return True


@register(KIND)
def on_canary_step(payload: dict[str, Any], ctx: JobContext, *, rollouts: Rollouts | None = None,
                   source: MetricsSource | None = None) -> None:  # fmt: skip
    from mlpipex.stats.canary import Action

    repository = payload["repository"]["full_name"]
    forge = RepoForge(ctx.github(), repository)
    chosen = choose_config(forge.configs(forge.default_branch()), payload["model"])
    if isinstance(chosen, str):
        raise PermanentJobError(chosen)
    config, rollouts = chosen, rollouts or rollouts_for(ctx.settings)
    env = environment(config, payload["environment"])
    holder = f"job:{ctx.job_id}"
    lock = ctx.store.locks.acquire(lock_key(repository, config.model.name), holder, reason="canary analysis", ttl_seconds=900)
    if not lock.acquired:
        raise RuntimeError(f"{config.model.name} is locked by {lock.holder}; the canary step will be retried")
    try:
        try:
            outcome = rollouts.canary_step(config, env, source, by=stamp("mlpipex canary", ctx.job_id),
                                           artifact=payload["artifact"])  # fmt: skip
        except InputError as exc:  # no metrics source, no canary settings: a retry cannot help
            raise PermanentJobError(str(exc)) from None
        if outcome is None:
            return  # someone promoted, rolled back or deployed since: this canary is over
        if outcome.step is not None and outcome.step.decision.action is not Action.HOLD:
            record(ctx, forge, repository, config, outcome, actor="mlpipex canary", sha=None)
    finally:
        ctx.store.locks.release(lock_key(repository, config.model.name), holder)
    if outcome.in_canary:
        schedule_next_step(ctx, repository, config, env.name, outcome, step=int(payload.get("step", 1)))
