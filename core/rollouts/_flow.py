"""Rollout steps against the environments' clusters: the one place the CLI and the App both call.

Each action (deploy, promote, promote into an environment, canary share, a judged
canary step, rollback) reads the InferenceService once, plans its next state with
the pure plans of ``mlpipex.kserve.rollout``/``promotion``, validates it against
the CRD, applies it and waits for Ready, and returns an :class:`Outcome`: a plain
:class:`~mlpipex.events.DeployEvent` plus what moved. The adapters say it their
way: the CLI prints it, reports it to the CI and exits with its code; the App
replies, audits and records a GitHub Deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.errors import InputError, MlpipexError
from mlpipex.events import DeployEvent
from mlpipex.kserve.manifests import service_name
from mlpipex.kserve.rollout import State, state_of
from mlpipex.rollouts._environments import environment
from mlpipex.rollouts._routing import Routed
from mlpipex.rollouts._sources import metrics_source
from mlpipex.rollouts._steps import (
    CanaryStep,
    UriFor,
    apply_step,
    canary_step,
    check_split,
    outcome,
    resync_route,
    send,
    traffic_line,
)
from mlpipex.rollouts._storage import RegistryLocator, StorageLocator
from mlpipex.rollouts._tags import move_environment_tag

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.analysis import MetricsSource
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.crd import CrdSchema

__all__ = ["Outcome", "Rollouts", "Status", "event_of"]

Plan = Callable[[dict[str, Any] | None], dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    """What one step did. A failed step carries its error: the CLI re-raises it for its exit
    code (2 bad input, 3 an outside system), the App answers with it."""

    event: DeployEvent
    from_digest: str | None = None  # what took the new share before
    to_digest: str | None = None  # what takes it now
    in_canary: bool = False  # a canary is running: the analysis has steps to take
    repeated: bool = False  # an earlier attempt of the same job had already done it
    step: CanaryStep | None = None  # a judged canary step: the decision and the shares
    error: MlpipexError | None = None
    warnings: tuple[str, ...] = ()  # done, but something after it was not (an environment tag not moved)

    @property
    def ok(self) -> bool:
        return self.event.ok


@dataclass(frozen=True)
class Status:
    """One environment as the cluster reports it."""

    environment: EnvironmentConfig
    name: str
    obj: dict[str, Any] | None
    state: State
    route: dict[str, Any] | None = None  # the HTTPRoute mlpipex writes there (deploy.traffic), as the cluster has it

    @property
    def ready(self) -> bool:
        from mlpipex.kserve.cluster import ready

        return self.obj is not None and ready(self.obj)

    @property
    def blockers(self) -> str:
        from mlpipex.kserve.cluster import blockers

        return blockers(self.obj)

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The canary analysis's recorded judgements, oldest first."""
        from mlpipex.kserve.analysis import canary_record

        return list(canary_record(self.obj).get("decisions", [])) if self.obj else []


class Rollouts:
    """The rollout flow for one caller.

    ``cluster_for`` reaches an environment's cluster (default: its kubeconfig ``context``
    in ``kubeconfig``, or in-cluster); ``crd`` validates against that schema instead of the
    cluster's own (``--crd FILE``); ``default_monitor`` is the last metrics source (see
    ``metrics_source``). ``resumable``: each ``by`` names one job (the App's "octocat via
    job 42"), so a step already stamped with it is reported as done, not taken twice; a
    CLI's ``by`` is a person, who may promote twice in a row, so it is off there.
    ``storage`` says where KServe loads each model from (default: ``deploy.storage`` through
    the registry, see ``RegistryLocator``); every object sent carries its answer.
    """

    def __init__(self, *, kubeconfig: str | None = None, timeout: float = 300.0,
                 cluster_for: Callable[[EnvironmentConfig], Cluster] | None = None, crd: CrdSchema | None = None,
                 default_monitor: str | None = None, resumable: bool = False,
                 storage: StorageLocator | None = None) -> None:  # fmt: skip
        self.kubeconfig, self.timeout, self.crd = kubeconfig, timeout, crd
        self.default_monitor, self.resumable = default_monitor, resumable
        self.storage: StorageLocator = storage if storage is not None else RegistryLocator()
        self._cluster_for = cluster_for
        self._clusters: dict[str | None, Cluster] = {}

    def cluster(self, env: EnvironmentConfig) -> Cluster:
        if self._cluster_for is not None:
            return self._cluster_for(env)
        if env.context not in self._clusters:
            from mlpipex.kserve.cluster import Cluster

            self._clusters[env.context] = Cluster.connect(env.context, self.kubeconfig)
        return self._clusters[env.context]

    def uri_for(self, config: Config) -> UriFor:
        """``config``'s artifacts -> the storageUri KServe loads each from."""
        return lambda artifact: self.storage.uri(config, artifact)

    def schema(self, kube: Cluster) -> CrdSchema:
        return self.crd if self.crd is not None else kube.crd()

    def current(self, config: Config, env: EnvironmentConfig) -> dict[str, Any] | None:
        return self.cluster(env).get(env.namespace, service_name(config))

    def status(self, config: Config, env: EnvironmentConfig) -> Status:
        obj = self.current(config, env)
        route = None
        if config.deploy.traffic_for(env) is not None:
            route = self.cluster(env).get_route(env.namespace, service_name(config))
        return Status(env, service_name(config), obj, state_of(obj), route)

    # -- actions ------------------------------------------------------------------

    def deploy(self, config: Config, env: EnvironmentConfig, artifact: str, *, by: str | None, sha: str | None = None,
               pull_request: int | None = None, canary_percent: int | None = None) -> Outcome:  # fmt: skip
        """A new model: 100% on a first rollout, else the environment's first canary step."""
        from mlpipex.kserve import Rollout
        from mlpipex.kserve.rollout import plan_deploy

        rollout = Rollout(artifact, canary_percent=canary_percent, git_sha=sha, pull_request=pull_request, deployed_by=by)
        return self._step("deploy", config, env, by, lambda current: plan_deploy(config, env, current, rollout))

    def promote(self, config: Config, env: EnvironmentConfig, percent: int | None = None, *, by: str | None) -> Outcome:
        """The canary running in ``env`` to ``percent`` (default: its next step)."""
        from mlpipex.kserve.rollout import plan_promote

        return self._step("promote", config, env, by, lambda current: plan_promote(config, env, current, percent, by=by))

    def promote_into(self, config: Config, target: EnvironmentConfig, *, approvals: int, by: str | None,
                     percent: int | None = None) -> Outcome:  # fmt: skip
        """The model of ``target.rules.after`` into ``target`` once ``target``'s rules hold.

        When that model is already here (on its way, or fully), or the source runs nothing,
        there is nothing to bring in: promoting takes ``target``'s next canary step instead.
        (The CLI did so; the App refused with "runs no model yet" when the source was
        empty, although a canary here could be stepped: the CLI's way is kept.)
        """
        from mlpipex.kserve.promotion import plan_promote_into
        from mlpipex.kserve.rollout import plan_promote

        if not target.rules.after:
            raise InputError(f"{target.name} has no `rules.after`: nothing is promoted into it",
                             fix=f"set deploy.environments[{target.name}].rules.after, or promote within {target.name}")  # fmt: skip
        source = self.status(config, environment(config, target.rules.after))

        def plan(current: dict[str, Any] | None) -> dict[str, Any]:
            if source.state.artifact is None or state_of(current).artifact == source.state.artifact:
                return plan_promote(config, target, current, percent, by=by)
            return plan_promote_into(config, target, current, source.environment, source.state,
                                     source_ready=source.ready, approvals=approvals, percent=percent, by=by)  # fmt: skip

        return self._step("promote", config, target, by, plan)

    def canary(self, config: Config, env: EnvironmentConfig, percent: int, *, by: str | None) -> Outcome:
        """The running canary's share set to ``percent``, up or down."""
        from mlpipex.kserve.rollout import plan_canary

        return self._step("canary", config, env, by, lambda current: plan_canary(config, env, current, percent, by=by))

    def rollback(self, config: Config, env: EnvironmentConfig, *, by: str | None) -> Outcome:
        """Back to the stable model during a canary, else to the one before."""
        from mlpipex.kserve.rollout import plan_rollback

        return self._step("rollback", config, env, by, lambda current: plan_rollback(config, env, current, by=by))

    def canary_step(self, config: Config, env: EnvironmentConfig, source: MetricsSource | None = None, *,
                    by: str = "mlpipex canary", artifact: str | None = None) -> Outcome | None:  # fmt: skip
        """Judge the running canary once; advance, hold or roll back. None when no canary runs
        in ``env`` (or, given ``artifact``, not that one: someone moved it since).

        The source defaults to ``metrics_source``'s choice, made only once a canary is found.
        Errors are raised (a CLI exits with them, the App's job is retried or dead-letters).
        """
        if env.canary is None:
            raise InputError(f"environment {env.name} has no canary settings", fix="add deploy.environments[].canary")
        name, model = service_name(config), config.model.name
        kube = self.cluster(env)
        current = kube.get(env.namespace, name)
        state = state_of(current)
        if current is None or not state.in_canary or (artifact is not None and state.artifact != artifact):
            return None
        if self._already_done(state, by, None):
            routed = resync_route(kube, current, config.deploy.traffic_for(env), environment=env.name)
            return Outcome(event_of("canary", model, env, name, True, current, "already done"),
                           to_digest=state.artifact, in_canary=state.in_canary, repeated=True,
                           warnings=(routed.warning,) if routed and routed.warning else ())  # fmt: skip
        source = source or metrics_source(config, env, default_monitor=self.default_monitor)
        step = canary_step(kube, self.schema(kube), config, env, source, current=current, timeout=self.timeout,
                           uri_for=self.uri_for(config), by=by)  # fmt: skip
        from mlpipex.stats.canary import Action

        action = step.decision.action
        split = step.routed.line if step.routed else traffic_line(step.result)
        line = (f"{env.name}: {action.value} at {step.traffic_before}% → {step.traffic_after}%: "
                f"{step.decision.reason} ({split})" + (f"; {step.scaled}" if step.scaled else ""))  # fmt: skip
        after = state_of(step.service)
        event = event_of(f"canary {action.value}", model, env, name, action is not Action.ROLLBACK, step.service, line)
        return Outcome(event, from_digest=state.artifact, to_digest=after.artifact, in_canary=after.in_canary, step=step,
                       warnings=self._tagged(config, env, after, step.routed))  # fmt: skip

    # -- the one place that applies ---------------------------------------------------

    def _already_done(self, state: State, by: str | None, action: str | None) -> bool:
        if not self.resumable or by is None or not state.history:
            return False
        last = state.history[-1]
        return last.get("by") == by and (action is None or last.get("action") == action)

    def _step(self, action: str, config: Config, env: EnvironmentConfig, by: str | None, plan: Plan) -> Outcome:
        from mlpipex.kserve.cluster import NotReady

        name, model = service_name(config), config.model.name
        try:
            kube = self.cluster(env)
            current = kube.get(env.namespace, name)  # the one read of this step
            before = state_of(current)
            if self._already_done(before, by, action):
                # this job already took this step before it was interrupted: report it, do not repeat it
                # (but bring deploy.traffic's route up to date: it moves last, and may be what was interrupted)
                routed = resync_route(kube, current, config.deploy.traffic_for(env), environment=env.name)
                return Outcome(event_of(action, model, env, name, True, current or {}, "already done"),
                               to_digest=before.artifact, in_canary=before.in_canary, repeated=True,
                               warnings=(routed.warning,) if routed and routed.warning else ())  # fmt: skip
            try:
                sent = apply_step(kube, self.schema(kube), current, plan, timeout=self.timeout,
                                  uri_for=self.uri_for(config), environment=env.name,
                                  traffic=config.deploy.traffic_for(env))  # fmt: skip
            except NotReady as exc:
                if config.deploy.on_not_ready != "rollback" or action == "rollback" or current is None:
                    raise
                return self._restored(kube, config, env, action, by, current, exc)
        except MlpipexError as exc:
            # One line with the fix: the App's reply, check runs and commit statuses show only this.
            fix = exc.fix_suffix
            event = DeployEvent(action, model, env.name, name, ok=False, message=str(exc).splitlines()[0] + fix, by=by)
            return Outcome(event, error=exc)
        after = state_of(sent.service)
        event = event_of(action, model, env, name, True, sent.service,
                         outcome(env, sent.service, sent.result, sent.routed, sent.scaled))  # fmt: skip
        return Outcome(event, from_digest=before.artifact, to_digest=after.artifact, in_canary=after.in_canary,
                       warnings=self._tagged(config, env, after, sent.routed))  # fmt: skip

    def _restored(self, kube: Cluster, config: Config, env: EnvironmentConfig, action: str, by: str | None,
                  previous: dict[str, Any], exc: MlpipexError) -> Outcome:  # fmt: skip
        """deploy.on_not_ready: rollback — the step did not become Ready: apply the object as it was
        before the step again (its own spec, not today's config: the placement may be what failed).

        Always a failed outcome (the step did not happen), saying why and what serves now."""
        from mlpipex.kserve.cluster import NotReady
        from mlpipex.kserve.rollout import plan_restore

        name, model = service_name(config), config.model.name
        said = exc.message.rstrip(". ")
        try:
            after = kube.get(env.namespace, name)
            restored = plan_restore(previous, after, by=by or "mlpipex")
            traffic = config.deploy.traffic_for(env)
            routing = traffic if check_split(kube, restored, environment=env.name, traffic=traffic) else None
            sent = send(kube, restored, after, routing, timeout=self.timeout, environment=env.name)
        except MlpipexError as again:
            error = NotReady(f"{said}; the rollback (deploy.on_not_ready: rollback) failed too: {again.message}",
                             fix=exc.fix)  # fmt: skip
            event = DeployEvent(action, model, env.name, name, ok=False, message=error.message, by=by)
            return Outcome(event, error=error)
        back = outcome(env, sent.service, sent.result, sent.routed)
        error = NotReady(f"{said}; rolled back (deploy.on_not_ready: rollback): {back}", fix=exc.fix)
        restored_state = state_of(sent.service)
        fix = exc.fix_suffix
        event = event_of(action, model, env, name, False, sent.service, error.message + fix)
        return Outcome(event, error=error, to_digest=restored_state.artifact, in_canary=restored_state.in_canary,
                       warnings=self._tagged(config, env, restored_state, sent.routed))  # fmt: skip

    def _tagged(self, config: Config, env: EnvironmentConfig, after: State, routed: Routed | None = None) -> tuple[str, ...]:
        warnings = [routed.warning] if routed is not None and routed.warning else []
        tagged = move_environment_tag(config, env, after)
        return tuple(warnings + ([tagged] if tagged else []))


def event_of(action: str, model: str, env: EnvironmentConfig, name: str, ok: bool, obj: dict[str, Any],
             message: str) -> DeployEvent:  # fmt: skip
    """The step on ``obj`` as a DeployEvent: what serves at what share, and who moved it."""
    state = state_of(obj)
    by = state.history[-1].get("by") if state.history else None
    return DeployEvent(action, model, env.name, name, ok=ok, message=message, artifact=state.artifact,
                       stable=state.stable, traffic=state.traffic, by=by)  # fmt: skip
