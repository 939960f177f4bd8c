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
from mlpipex.kserve.capabilities import capabilities, check_canary_split, check_router
from mlpipex.kserve.cluster import ready
from mlpipex.kserve.manifests import logged_revisions, service_name, with_storage_uris
from mlpipex.kserve.rollout import plan_prescale, plan_promote, plan_rollback, plan_same, state_of
from mlpipex.rollouts._prescale import scale_canary_first
from mlpipex.rollouts._routing import Routed, route_first, write_route
from mlpipex.stats.canary import Action, Decision

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig, TrafficConfig
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.crd import CrdSchema

__all__ = [
    "CanaryStep",
    "Sent",
    "UriFor",
    "apply_step",
    "canary_step",
    "check_split",
    "outcome",
    "prepared",
    "resync_route",
    "send",
    "traffic_line",
]

Plan = Callable[[dict[str, Any] | None], dict[str, Any]]
UriFor = Callable[[str], str]  # an artifact -> the storageUri KServe loads it from (a StorageLocator's, for one config)


def check_split(kube: Cluster, service: dict[str, Any], *, environment: str,
                traffic: TrafficConfig | None = None) -> bool:  # fmt: skip
    """Refuse a Standard-mode ``spec.canary[]`` the cluster's KServe would give no traffic; with
    ``traffic`` (deploy.traffic), say whether mlpipex writes the HTTPRoute (True) or KServe
    weights the canary itself (False), and refuse a KServe that would write a competing route.

    Only an object that splits (a canary entry below 100%) needs the cluster's facts without a
    router, read once here; a first rollout, a full cutover and a rollback to 100% carry no
    canary entry. Knative canaries (``canaryTrafficPercent``) split by revision on every KServe.
    """
    canary = (service.get("spec") or {}).get("canary") or []
    if not canary and traffic is None:
        return False
    caps = capabilities(*kube.kserve_facts())
    routed = traffic is not None and check_router(caps, environment=environment, route=service["metadata"]["name"])
    if canary:
        mode = service["metadata"]["annotations"].get("serving.kserve.io/deploymentMode", "Standard")
        check_canary_split(caps, mode, int(canary[0]["trafficPercent"]), environment=environment, router=routed)
    return routed


def prepared(kube: Cluster, crd: CrdSchema, service: dict[str, Any], uri_for: UriFor, *,
             environment: str, traffic: TrafficConfig | None = None) -> tuple[dict[str, Any], TrafficConfig | None]:  # fmt: skip
    """What is sent for a planned object: models located, the split checked, the CRD checked; and
    the router settings when mlpipex writes the route for it (None: KServe routes)."""
    service = with_storage_uris(service, uri_for)
    routed = check_split(kube, service, environment=environment, traffic=traffic)
    crd.check(service)
    return service, traffic if routed else None


@dataclass(frozen=True)
class Sent:
    service: dict[str, Any]  # what was applied
    result: dict[str, Any]  # the InferenceService as the cluster reports it, Ready
    routed: Routed | None = None  # the HTTPRoute mlpipex wrote (deploy.traffic), None: KServe routes
    scaled: str | None = None  # a promoted canary scaled to the stable's minimum first (what the step says)


def send(kube: Cluster, service: dict[str, Any], current: dict[str, Any] | None, traffic: TrafficConfig | None,
         *, timeout: float, environment: str) -> Sent:  # fmt: skip
    """Apply the InferenceService, wait for Ready, and move the route (if mlpipex owns it) in the
    order that keeps traffic off predictors that do not serve (see mlpipex.rollouts._routing); a
    canary promoted to 100% first gets the stable's replica count (mlpipex.rollouts._prescale)."""
    meta = service["metadata"]
    routed = None
    prescaled, scaled = plan_prescale(current, service), None
    if prescaled is not None:
        scaled = scale_canary_first(kube, prescaled, service["spec"]["predictor"]["name"], timeout=timeout)
    first = traffic is not None and route_first(current, service)
    if traffic is not None and first:
        routed = write_route(kube, service, traffic, owner_uid=(current or {}).get("metadata", {}).get("uid"),
                             environment=environment)  # fmt: skip
    applied = kube.apply(service)
    result = kube.wait_ready(meta["namespace"], meta["name"], timeout=timeout)
    if traffic is not None and not first:
        uid = (result.get("metadata") or {}).get("uid") or (applied.get("metadata") or {}).get("uid")
        routed = write_route(kube, service, traffic, owner_uid=uid, environment=environment)
    return Sent(service, result, routed, scaled)


def resync_route(kube: Cluster, current: dict[str, Any] | None, traffic: TrafficConfig | None, *,
                 environment: str) -> Routed | None:  # fmt: skip
    """A step found already taken (its job was interrupted and retried): the InferenceService moved,
    but the route may not have followed (it moves after Ready). Write it from the object as the
    cluster has it, once that is Ready; the write is idempotent when the route did follow."""
    if traffic is None or current is None or not ready(current):
        return None
    if not check_router(capabilities(*kube.kserve_facts()), environment=environment, route=current["metadata"]["name"]):
        return None
    return write_route(kube, current, traffic, owner_uid=current["metadata"].get("uid"), environment=environment)


def apply_step(kube: Cluster, crd: CrdSchema, current: dict[str, Any] | None, plan: Plan,
               *, timeout: float, uri_for: UriFor, environment: str, traffic: TrafficConfig | None = None) -> Sent:  # fmt: skip
    """Plan the object's next state from ``current`` (as just read), locate its models, check
    the cluster can split it, validate it, apply it, wait for Ready, route it (deploy.traffic)."""
    service, routing = prepared(kube, crd, plan(current), uri_for, environment=environment, traffic=traffic)
    return send(kube, service, current, routing, timeout=timeout, environment=environment)


@dataclass(frozen=True)
class CanaryStep:
    decision: Decision
    traffic_before: int
    traffic_after: int
    service: dict[str, Any]
    result: dict[str, Any]
    routed: Routed | None = None  # the HTTPRoute mlpipex wrote (deploy.traffic)
    scaled: str | None = None  # the promoted canary scaled first (Sent.scaled)

    @property
    def finished(self) -> bool:
        """Nothing more to judge: the canary took all traffic or was rolled back."""
        return self.decision.action is Action.ROLLBACK or self.traffic_after == 100


def canary_step(kube: Cluster, crd: CrdSchema, config: Config, env: EnvironmentConfig, source: MetricsSource,
                *, current: dict[str, Any], timeout: float, uri_for: UriFor, by: str = "mlpipex canary") -> CanaryStep:  # fmt: skip
    """Judge the canary running on ``current`` (as just read) once and advance, hold or roll back.

    The decision and the failure count are recorded on the object, so whoever runs the
    next step (this process after a restart, another App replica) continues from it.
    """
    assert env.canary is not None
    name = service_name(config)
    state = state_of(current)
    record = canary_record(current)
    # Each predictor's logger marks its events with the predictor's name: judge those, not a guess by age.
    decision = analyse(env.canary, source, namespace=env.namespace, service=name,
                       failures_so_far=int(record.get("failures", 0)),
                       revisions=logged_revisions(config, state.artifact, state.stable))  # fmt: skip
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if decision.action is Action.ADVANCE:
        service = plan_promote(config, env, current, None, by=by, now=now)
    elif decision.action is Action.ROLLBACK:
        service = plan_rollback(config, env, current, by=by, now=now)
    else:
        service = plan_same(config, env, current)
    traffic = int(service["metadata"]["annotations"]["mlpipex.dev/traffic"])
    with_decision(service, record, decision, traffic=traffic, now=now)
    service, routing = prepared(kube, crd, service, uri_for, environment=env.name, traffic=config.deploy.traffic_for(env))
    sent = send(kube, service, current, routing, timeout=timeout, environment=env.name)
    return CanaryStep(decision, state.traffic, traffic, sent.service, sent.result, sent.routed, sent.scaled)


def outcome(env: EnvironmentConfig, service: dict[str, Any], result: dict[str, Any], routed: Routed | None = None,
            scaled: str | None = None) -> str:  # fmt: skip
    """One line: what serves where at what share, and the split the cluster (or mlpipex's route) reports."""
    notes = service["metadata"]["annotations"]
    return (f"{env.name}: {service['metadata']['name']} serves {notes['mlpipex.dev/artifact']} at "
            f"{notes['mlpipex.dev/traffic']}% ({routed.line if routed else traffic_line(result)})"
            + (f"; {scaled}" if scaled else ""))  # fmt: skip


def traffic_line(obj: dict[str, Any]) -> str:
    traffic = (((obj.get("status") or {}).get("components") or {}).get("predictor") or {}).get("traffic") or []
    return ", ".join(f"{t.get('revisionName')} {t.get('percent')}%" for t in traffic) or "no traffic reported"
