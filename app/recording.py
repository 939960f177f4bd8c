"""What every handler that moves a model shares: its config, its lock, its records, its reply.

The ChatOps runner (commanding.py), the merge deploy (merges.py), the canary jobs
and the retraining handler all choose the model's config from the base branch the
same way, lock it under the same key, record a rollout step in the audit log and
as a GitHub Deployment once (even when a job re-runs), and answer with the same
markdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex.app.forge import RepoForge
from mlpipex.report import render_deploy_markdown
from mlpipex.rollouts import Outcome

if TYPE_CHECKING:
    from mlpipex.app.registry import JobContext
    from mlpipex.config import Config

__all__ = ["choose_config", "holder_run_key", "lock_key", "record", "reply_text"]


def lock_key(repository: str, model: str) -> str:
    return f"{repository}#{model}"


def holder_run_key(key: str) -> str:
    """The lock a `/lock` holder's own commands take while the model is locked by them."""
    return f"{key}#holder-run"


def choose_config(configs: list[Config], model: str | None) -> Config | str:
    """The model's configuration, or a reply saying which models there are."""
    names = [c.model.name for c in configs]
    if not configs:
        return "This repository has no mlpipex.yaml on its base branch."
    if model is None:
        if len(configs) == 1:
            return configs[0]
        return f"Which model? This repository has {', '.join(f'`{n}`' for n in names)}: add its name to the command."
    for config in configs:
        if config.model.name == model:
            return config
    return f"There is no model `{model}` here; models: {', '.join(f'`{n}`' for n in names)}."


def record(ctx: JobContext, forge: RepoForge, repository: str, config: Config, outcome: Outcome, *, actor: str,
           sha: str | None) -> None:  # fmt: skip
    """The audit entry and the GitHub Deployment of a rollout step (once, even if the job re-runs)."""
    event = outcome.event
    if not outcome.repeated:
        ctx.store.audit.record(actor=actor, action=event.action, outcome="succeeded" if event.ok else "failed",
                               repository=repository, model=config.model.name, environment=event.environment,
                               from_digest=outcome.from_digest, to_digest=outcome.to_digest, detail=event.message)  # fmt: skip
    commit = sha or forge.branch_head(forge.default_branch())
    if event.ok and event.artifact:
        forge.record_deployment(sha=commit, environment=event.environment, artifact=event.artifact,
                                state="success" if not outcome.in_canary else "in_progress",
                                description=event.title)  # fmt: skip
    elif not event.ok:
        forge.record_deployment(sha=commit, environment=event.environment, artifact=event.artifact,
                                state="failure", description=event.message)  # fmt: skip


def reply_text(outcome: Outcome, actor: str, job_id: int) -> str:
    note = " (this step had already been taken by an earlier attempt of the same job)" if outcome.repeated else ""
    return render_deploy_markdown(outcome.event, outcome.warnings) + f"\n<sub>requested by @{actor} · job {job_id}{note}</sub>\n"
