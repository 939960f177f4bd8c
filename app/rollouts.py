"""Rollout steps as the App runs them: the same pure plans as the CLI, recorded for audit.

One call per action (deploy, promote, promote into an environment, canary share,
rollback) returns an :class:`Outcome` the handlers turn into a reply, an audit
entry and a GitHub Deployment status. Each step is stamped with the job that ran it
(``by: "octocat via job 42"``), so a job re-run after a crash sees its own step in
the object's history and does not repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.errors import MlpipexError
from mlpipex.kserve.rollout import state_of
from mlpipex.providers import DeployEvent

if TYPE_CHECKING:
    from mlpipex.app.settings import Settings
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.cluster import Cluster

__all__ = ["Outcome", "Rollouts", "environment_named", "event_of", "stamp"]

Plan = Callable[[dict[str, Any] | None], dict[str, Any]]


def stamp(login: str, job_id: int) -> str:
    return f"{login} via job {job_id}"


def environment_named(config: Config, name: str | None) -> EnvironmentConfig:
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.errors import InputError

    environments = config.deploy.environments or [EnvironmentConfig(name="default")]
    if name is None:
        return environments[0]
    for env in environments:
        if env.name == name:
            return env
    raise InputError(f"{config.model.name} has no environment `{name}`",
                     fix=f"environments: {', '.join(e.name for e in environments)}")  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    event: DeployEvent
    from_digest: str | None = None  # what took the new share before
    to_digest: str | None = None  # what takes it now
    in_canary: bool = False  # a canary is running: the analysis has steps to take
    repeated: bool = False  # an earlier attempt of this job had already done it

    @property
    def ok(self) -> bool:
        return self.event.ok


class Rollouts:
    def __init__(self, settings: Settings | None, *, cluster_for: Callable[[EnvironmentConfig], Cluster] | None = None) -> None:
        self.settings = settings
        self._cluster_for = cluster_for

    def cluster(self, env: EnvironmentConfig) -> Cluster:
        if self._cluster_for is not None:
            return self._cluster_for(env)
        from mlpipex.kserve.cluster import Cluster

        kubeconfig = self.settings.kubeconfig if self.settings else None
        return Cluster.connect(env.context, str(kubeconfig) if kubeconfig else None)

    @property
    def timeout(self) -> float:
        return self.settings.rollout_timeout if self.settings else 300.0

    def current(self, config: Config, env: EnvironmentConfig) -> dict[str, Any] | None:
        return self.cluster(env).get(env.namespace, config.deploy.name or config.model.name)

    # -- actions ------------------------------------------------------------------

    def deploy(self, config: Config, env: EnvironmentConfig, artifact: str, *, by: str, sha: str | None = None,
               pull_request: int | None = None) -> Outcome:  # fmt: skip
        from mlpipex.kserve import Rollout
        from mlpipex.kserve.rollout import plan_deploy

        rollout = Rollout(artifact, git_sha=sha, pull_request=pull_request, deployed_by=by)
        return self._step("deploy", config, env, by, lambda current: plan_deploy(config, env, current, rollout))

    def promote(self, config: Config, env: EnvironmentConfig, percent: int | None, *, by: str) -> Outcome:
        from mlpipex.kserve.rollout import plan_promote

        return self._step("promote", config, env, by, lambda current: plan_promote(config, env, current, percent, by=by))

    def promote_into(self, config: Config, target: EnvironmentConfig, *, approvals: int, by: str,
                     percent: int | None = None) -> Outcome:  # fmt: skip
        """The model of ``target.rules.after`` into ``target``, once ``target``'s rules hold."""
        from mlpipex.errors import InputError
        from mlpipex.kserve.cluster import ready
        from mlpipex.kserve.promotion import plan_promote_into

        if not target.rules.after:
            raise InputError(f"{target.name} has no `rules.after`: nothing is promoted into it",
                             fix=f"set deploy.environments[{target.name}].rules.after, or use /promote --env {target.name}")  # fmt: skip
        from mlpipex.kserve.rollout import plan_promote

        source_env = environment_named(config, target.rules.after)
        source_obj = self.current(config, source_env)
        source = state_of(source_obj)

        def plan(current: dict[str, Any] | None) -> dict[str, Any]:
            if source.artifact is not None and state_of(current).artifact == source.artifact:
                # already on its way here: promoting again takes the next canary step (as the CLI does)
                return plan_promote(config, target, current, percent, by=by)
            return plan_promote_into(config, target, current, source_env, source, source_ready=bool(source_obj and ready(source_obj)),
                                     approvals=approvals, percent=percent, by=by)  # fmt: skip

        return self._step("promote", config, target, by, plan)

    def canary(self, config: Config, env: EnvironmentConfig, percent: int, *, by: str) -> Outcome:
        from mlpipex.kserve.rollout import plan_canary

        return self._step("canary", config, env, by, lambda current: plan_canary(config, env, current, percent, by=by))

    def rollback(self, config: Config, env: EnvironmentConfig, *, by: str) -> Outcome:
        from mlpipex.kserve.rollout import plan_rollback

        return self._step("rollback", config, env, by, lambda current: plan_rollback(config, env, current, by=by))

    # -- the one place that applies -------------------------------------------------------

    def _step(self, action: str, config: Config, env: EnvironmentConfig, by: str, plan: Plan) -> Outcome:
        from mlpipex.rollouts._steps import apply_step, outcome

        name = config.deploy.name or config.model.name
        model = config.model.name
        try:
            kube = self.cluster(env)
            current = kube.get(env.namespace, name)
            before = state_of(current)
            if before.history and before.history[-1].get("by") == by and before.history[-1].get("action") == action:
                # this job already took this step before it was interrupted: report it, do not repeat it
                return Outcome(event_of(action, model, env, name, True, current or {}, "already done"),
                               from_digest=None, to_digest=before.artifact, in_canary=before.in_canary, repeated=True)  # fmt: skip
            service, result = apply_step(kube, kube.crd(), env.namespace, name, plan, timeout=self.timeout)
        except MlpipexError as exc:
            event = DeployEvent(action, model, env.name, name, ok=False, message=str(exc).splitlines()[0], by=by)
            return Outcome(event)
        after = state_of(service)
        event = event_of(action, model, env, name, True, service, outcome(env, service, result))
        return Outcome(event, from_digest=before.artifact, to_digest=after.artifact, in_canary=after.in_canary)


def event_of(action: str, model: str, env: EnvironmentConfig, name: str, ok: bool, obj: dict[str, Any],
           message: str) -> DeployEvent:  # fmt: skip
    """The step on ``obj`` as a DeployEvent: what serves at what share, and who moved it."""
    state = state_of(obj)
    by = state.history[-1].get("by") if state.history else None
    return DeployEvent(action, model, env.name, name, ok=ok, message=message, artifact=state.artifact,
                       stable=state.stable, traffic=state.traffic, by=by)  # fmt: skip
