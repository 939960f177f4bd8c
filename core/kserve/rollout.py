"""What the next InferenceService should be: deploy, promote, roll back (pure).

State lives on the object itself, in annotations, so any runner (a CI job, the
App after a restart) picks up where the last one stopped:

- ``mlpipex.dev/artifact``: the model being rolled out (or serving, at 100%);
- ``mlpipex.dev/stable-artifact``: the last model that reached 100%;
- ``mlpipex.dev/traffic``: the rolled-out model's share of traffic;
- ``mlpipex.dev/history``: the last 20 actions, newest last (JSON).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from typing import Any

from mlpipex.config import Config
from mlpipex.config.model import EnvironmentConfig
from mlpipex.errors import InputError
from mlpipex.kserve.manifests import ANNOTATION, Rollout, build_inference_service

__all__ = [
    "State",
    "plan_canary",
    "plan_deploy",
    "plan_prescale",
    "plan_promote",
    "plan_restore",
    "plan_rollback",
    "state_of",
]

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class State:
    artifact: str | None
    stable: str | None
    traffic: int
    history: tuple[dict[str, Any], ...]

    @property
    def in_canary(self) -> bool:
        return self.artifact is not None and self.traffic < 100


def state_of(obj: dict[str, Any] | None) -> State:
    if obj is None:
        return State(None, None, 0, ())
    notes = obj.get("metadata", {}).get("annotations") or {}
    try:
        history = tuple(json.loads(notes.get(f"{ANNOTATION}history", "[]")))
    except ValueError:
        history = ()
    return State(notes.get(f"{ANNOTATION}artifact"), notes.get(f"{ANNOTATION}stable-artifact"),
                 int(notes.get(f"{ANNOTATION}traffic", "100")), history)  # fmt: skip


def _record(service: dict[str, Any], state: State, action: str, rollout: Rollout, traffic: int, now: str) -> dict[str, Any]:
    entry = {"action": action, "artifact": rollout.artifact, "traffic": traffic, "at": now,
             "by": rollout.deployed_by, "pull_request": rollout.pull_request}  # fmt: skip
    history = [*state.history, {k: v for k, v in entry.items() if v is not None}][-HISTORY_LIMIT:]
    stable = rollout.artifact if traffic == 100 else state.stable
    notes = service["metadata"]["annotations"]
    notes[f"{ANNOTATION}traffic"] = str(traffic)
    notes[f"{ANNOTATION}history"] = json.dumps(history, separators=(",", ":"))
    if stable:
        notes[f"{ANNOTATION}stable-artifact"] = stable
    return service


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_deploy(config: Config, env: EnvironmentConfig, current: dict[str, Any] | None, rollout: Rollout,
                *, now: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A new model: 100% on a first rollout (as KServe does), else the first canary step."""
    state = state_of(current)
    percent = rollout.canary_percent
    if state.stable is None or state.stable == rollout.artifact:
        percent = 100
    elif percent is None:
        percent = env.canary.steps[0] if env.canary else 100
    planned = replace(rollout, canary_percent=percent, stable_artifact=state.stable)
    service = build_inference_service(config, env, planned)
    return _record(service, state, "deploy", planned, percent, now or _now())


def plan_promote(config: Config, env: EnvironmentConfig, current: dict[str, Any] | None, percent: int | None,
                 *, by: str | None = None, now: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Move the rolled-out model to ``percent`` (default: the next canary step)."""
    state = state_of(current)
    if state.artifact is None:
        raise InputError(f"nothing is deployed to {env.name}", fix="run `mlpipex deploy` first")
    if not state.in_canary:
        raise InputError(f"{env.name} already serves {state.artifact} at 100%", fix="deploy a new model to promote it")
    if percent is None:
        steps = env.canary.steps if env.canary else [100]
        percent = next((s for s in steps if s > state.traffic), 100)
    if not state.traffic < percent <= 100:
        raise InputError(f"cannot promote from {state.traffic}% to {percent}%",
                         fix=f"give a share above {state.traffic} and at most 100")  # fmt: skip
    rollout = Rollout(state.artifact, percent, state.stable, deployed_by=by)
    service = build_inference_service(config, env, rollout)
    return _record(service, state, "promote", rollout, percent, now or _now())


def plan_canary(config: Config, env: EnvironmentConfig, current: dict[str, Any] | None, percent: int,
                *, by: str | None = None, now: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Set the canary's share to ``percent``, up or down (an operator's hand on the dial)."""
    state = state_of(current)
    if not state.in_canary:
        raise InputError(f"{env.name} has no canary in progress ({state.artifact or 'nothing'} at {state.traffic}%)",
                         fix="deploy a new model first; /canary sets the share of a running canary")  # fmt: skip
    if percent >= 100:
        return plan_promote(config, env, current, 100, by=by, now=now)
    if percent <= 0:
        raise InputError(f"a canary share of {percent}% is not possible", fix="give 1 to 100, or roll back")
    rollout = Rollout(state.artifact, percent, state.stable, deployed_by=by)
    service = build_inference_service(config, env, rollout)
    return _record(service, state, "canary", rollout, percent, now or _now())


def plan_rollback(config: Config, env: EnvironmentConfig, current: dict[str, Any] | None,
                  *, by: str | None = None, now: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Back to the previous good model: the stable one during a canary, else the one before."""
    state = state_of(current)
    if state.artifact is None:
        raise InputError(f"nothing is deployed to {env.name}")
    if state.in_canary:
        target = state.stable
    else:
        earlier = [h["artifact"] for h in state.history if h.get("traffic") == 100 and h["artifact"] != state.artifact]
        target = earlier[-1] if earlier else None
    if not target:
        raise InputError(f"{env.name} has no earlier good model to roll back to",
                         fix="deploy a known-good digest with `mlpipex deploy --artifact REF@DIGEST`")  # fmt: skip
    rollout = Rollout(target, 100, deployed_by=by)
    service = build_inference_service(config, env, rollout)
    return _record(service, state, "rollback", rollout, 100, now or _now())


def plan_restore(previous: dict[str, Any], current: dict[str, Any] | None, *, by: str | None = None,
                 now: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``previous`` (the object as the cluster had it before a step) to apply again, as it was:
    its spec and mlpipex's annotations — not rebuilt from today's config, whose placement may be
    what failed — with the step and this rollback kept in the history (deploy.on_not_ready)."""
    service = _as_stored(previous)
    notes = service["metadata"]["annotations"]
    before, after = state_of(previous), state_of(current)
    if before.artifact is None:
        raise InputError("nothing was deployed before this step: there is nothing to restore")
    history = after.history or before.history
    rollout = Rollout(before.artifact, deployed_by=by)  # the history entry: what serves again, and who
    _record(service, State(before.artifact, before.stable, before.traffic, history), "rollback", rollout,
            before.traffic, now or _now())  # fmt: skip
    if before.stable:
        notes[f"{ANNOTATION}stable-artifact"] = before.stable  # a canary restored keeps its stable model
    return service


def _as_stored(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as the cluster has it, to apply again: its spec and annotations, no server fields."""
    meta = obj.get("metadata") or {}
    notes = dict(meta.get("annotations") or {})
    notes.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return {
        "apiVersion": obj["apiVersion"], "kind": obj["kind"],
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": dict(meta.get("labels") or {}),
                     "annotations": notes},
        "spec": copy.deepcopy(obj["spec"]),
    }  # fmt: skip


def plan_prescale(current: dict[str, Any] | None, planned: dict[str, Any]) -> dict[str, Any] | None:
    """``current`` with the canary that ``planned`` promotes to 100% sized like the stable predictor,
    at the current weights; None when the promotion needs no such step.

    A Standard-mode canary runs a fixed replica count: its ``minReplicas``, or
    ceil(stable minReplicas × trafficPercent / 100) (KServe's canaryReplicaCount). The
    zero-restart promotion hands that Deployment all traffic as it is, and KServe rescales it
    only once it is the stable predictor: until then, 100% of the traffic on a tenth or a half of
    the capacity. So the canary takes the stable's minimum first (KServe admits a canary
    ``minReplicas`` up to the stable's, C14), and the traffic moves once those replicas serve.
    None: no canary in ``current``, ``planned`` does not promote one (a rollback, a new model),
    or the canary already runs as many replicas as the stable's minimum.
    """
    spec = (current or {}).get("spec") or {}
    entries = spec.get("canary") or []
    target = ((planned.get("spec") or {}).get("predictor") or {}).get("name")
    if current is None or not entries or (planned.get("spec") or {}).get("canary") or not target:
        return None
    index = next((i for i, e in enumerate(entries) if (e.get("predictor") or {}).get("name") == target), None)
    if index is None:
        return None
    stable_min = int((spec.get("predictor") or {}).get("minReplicas") or 1)
    entry = entries[index]
    fixed = (entry.get("predictor") or {}).get("minReplicas")
    replicas = int(fixed) if fixed is not None else math.ceil(stable_min * int(entry.get("trafficPercent") or 0) / 100)
    if replicas >= stable_min:
        return None
    scaled = _as_stored(current)
    scaled["spec"]["canary"][index]["predictor"]["minReplicas"] = stable_min
    return scaled


def plan_same(config: Config, env: EnvironmentConfig, current: dict[str, Any]) -> dict[str, Any]:
    """The object as mlpipex last applied it (to record a decision without moving traffic)."""
    state = state_of(current)
    if state.artifact is None:
        raise InputError(f"nothing is deployed to {env.name}")
    rollout = Rollout(state.artifact, state.traffic, state.stable)
    service = build_inference_service(config, env, rollout)
    notes = service["metadata"]["annotations"]
    for key in ("traffic", "history", "stable-artifact"):
        value = (current.get("metadata", {}).get("annotations") or {}).get(f"{ANNOTATION}{key}")
        if value is not None:
            notes[f"{ANNOTATION}{key}"] = value
    return service
