"""One rollout step against a cluster: plan, validate, apply, wait (the I/O around the pure plans).

The plans themselves are pure (mlpipex.kserve.rollout); ``Rollouts`` (_flow.py) reads
the object once and hands it here, so `mlpipex promote` and a `/promote` comment do
exactly the same thing with the same single read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.kserve.analysis import MetricsSource, analyse, canary_record, with_decision
from mlpipex.kserve.manifests import service_name
from mlpipex.kserve.rollout import plan_promote, plan_rollback, plan_same, state_of
from mlpipex.stats.canary import Action, Decision

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.crd import CrdSchema

__all__ = ["CanaryStep", "apply_step", "canary_step", "outcome", "traffic_line"]

Plan = Callable[[dict[str, Any] | None], dict[str, Any]]


def apply_step(kube: Cluster, crd: CrdSchema, current: dict[str, Any] | None, plan: Plan,
               *, timeout: float) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Plan the object's next state from ``current`` (as just read), validate it, apply it,
    wait for Ready. Returns (what was applied, what the cluster reports)."""
    service = plan(current)
    crd.check(service)
    kube.apply(service)
    meta = service["metadata"]
    return service, kube.wait_ready(meta["namespace"], meta["name"], timeout=timeout)


@dataclass(frozen=True)
class CanaryStep:
    decision: Decision
    traffic_before: int
    traffic_after: int
    service: dict[str, Any]
    result: dict[str, Any]

    @property
    def finished(self) -> bool:
        """Nothing more to judge: the canary took all traffic or was rolled back."""
        return self.decision.action is Action.ROLLBACK or self.traffic_after == 100


def canary_step(kube: Cluster, crd: CrdSchema, config: Config, env: EnvironmentConfig, source: MetricsSource,
                *, current: dict[str, Any], timeout: float, by: str = "mlpipex canary") -> CanaryStep:  # fmt: skip
    """Judge the canary running on ``current`` (as just read) once and advance, hold or roll back.

    The decision and the failure count are recorded on the object, so whoever runs the
    next step (this process after a restart, another App replica) continues from it.
    """
    assert env.canary is not None
    name = service_name(config)
    state = state_of(current)
    record = canary_record(current)
    decision = analyse(env.canary, source, namespace=env.namespace, service=name,
                       failures_so_far=int(record.get("failures", 0)))  # fmt: skip
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if decision.action is Action.ADVANCE:
        service = plan_promote(config, env, current, None, by=by, now=now)
    elif decision.action is Action.ROLLBACK:
        service = plan_rollback(config, env, current, by=by, now=now)
    else:
        service = plan_same(config, env, current)
    traffic = int(service["metadata"]["annotations"]["mlpipex.dev/traffic"])
    with_decision(service, record, decision, traffic=traffic, now=now)
    crd.check(service)
    kube.apply(service)
    result = kube.wait_ready(env.namespace, name, timeout=timeout)
    return CanaryStep(decision, state.traffic, traffic, service, result)


def outcome(env: EnvironmentConfig, service: dict[str, Any], result: dict[str, Any]) -> str:
    """One line: what serves where at what share, and the split the cluster reports."""
    notes = service["metadata"]["annotations"]
    return (f"{env.name}: {service['metadata']['name']} serves {notes['mlpipex.dev/artifact']} at "
            f"{notes['mlpipex.dev/traffic']}% ({traffic_line(result)})")  # fmt: skip


def traffic_line(obj: dict[str, Any]) -> str:
    traffic = (((obj.get("status") or {}).get("components") or {}).get("predictor") or {}).get("traffic") or []
    return ", ".join(f"{t.get('revisionName')} {t.get('percent')}%" for t in traffic) or "no traffic reported"
