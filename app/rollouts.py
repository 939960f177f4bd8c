"""The App's side of the rollout flow (mlpipex.rollouts): its settings, and the job stamp.

The handlers (merges, ChatOps, the canary jobs) call the same ``Rollouts`` methods as
the CLI. The App's flow is *resumable*: each step is stamped with the job that ran
it (``by: "octocat via job 42"``), so a job re-run after a crash sees its own step in
the object's history and reports it instead of repeating it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex.rollouts import Rollouts

if TYPE_CHECKING:
    from mlpipex.app.settings import Settings

__all__ = ["rollouts_for", "stamp"]


def stamp(login: str, job_id: int) -> str:
    return f"{login} via job {job_id}"


def rollouts_for(settings: Settings | None) -> Rollouts:
    """The flow with the App's kubeconfig, rollout timeout and default monitor."""
    if settings is None:
        return Rollouts(resumable=True)
    return Rollouts(kubeconfig=str(settings.kubeconfig) if settings.kubeconfig else None,
                    timeout=settings.rollout_timeout, default_monitor=settings.metrics_url, resumable=True)  # fmt: skip
