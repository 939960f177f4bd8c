"""The HTTPRoute half of a rollout step (deploy.traffic): when the route moves, and what the gateway said.

Order, so that traffic never reaches a predictor that is not serving:

- a step that keeps or adds a canary (10% → 50%, a new canary): the InferenceService first,
  KServe's canary Deployment Ready (``CanaryPredictorReady``, what ``Cluster.wait_ready``
  waits for), then the route's new weights (what KServe master's readiness gating, #5984,
  does for its own route);
- a step that leaves one predictor which already serves (full promotion, rollback during a
  canary): the route first (all traffic to it), then the InferenceService drops the other; a
  promoted canary is first scaled to the stable's minReplicas (mlpipex.rollouts._prescale),
  so it does not take everything with the replicas of its share;
- a first rollout or a cutover to a model not yet running: the InferenceService, Ready, then
  the route.

After each write the gateway controller's report is awaited for ``accepted_within``: a
parent with Accepted=False or ResolvedRefs=False fails the step with the gateway's own
words. No report in that time is not a failure (a gateway controller may be slow, and none
runs in some test clusters): the weights are written and the step says nobody confirmed them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.config.durations import parse_duration
from mlpipex.errors import InputError
from mlpipex.kserve.cluster import ready
from mlpipex.kserve.httproute import build_http_route, gateway_report, route_line, route_weights

if TYPE_CHECKING:
    from mlpipex.config.model import TrafficConfig
    from mlpipex.kserve.cluster import Cluster

__all__ = ["Routed", "route_first", "write_route"]


@dataclass(frozen=True)
class Routed:
    """The route as the step left it."""

    route: dict[str, Any]
    warning: str | None = None  # no gateway controller confirmed it

    @property
    def line(self) -> str:
        return route_line(self.route)


def route_first(current: dict[str, Any] | None, service: dict[str, Any]) -> bool:
    """Move the route before the InferenceService: the planned object has one predictor, and it
    already serves in the current, Ready object (the canary being promoted, the stable rolled back to)."""
    if current is None or (service.get("spec") or {}).get("canary") or not ready(current):
        return False
    (target, _), *_ = route_weights(service)
    return target in {name for name, _ in route_weights(current)}


def write_route(kube: Cluster, service: dict[str, Any], traffic: TrafficConfig, *, owner_uid: str | None,
                environment: str, poll: float = 0.5) -> Routed:  # fmt: skip
    """Apply the route for ``service``'s weights and wait for the gateway's word on it."""
    route = kube.apply_route(build_http_route(service, traffic, owner_uid=owner_uid))
    meta = route["metadata"]
    deadline = time.monotonic() + parse_duration(traffic.accepted_within)
    while True:
        report = gateway_report(route)
        if report.refused:
            raise InputError(f"environment {environment}: the gateway refused HTTPRoute {meta['namespace']}/{meta['name']} "
                             f"({route_line(route).split(': ', 1)[1]}): {report.refused}",
                             fix="check deploy.traffic (gateway name/namespace/section_name, hostnames) against the "
                                 "Gateway's listeners and their allowedRoutes, and that KServe's predictor Services "
                                 "exist; `mlpipex rollback` returns to the stable model")  # fmt: skip
        if report.accepted:
            return Routed(route)
        if time.monotonic() >= deadline:
            return Routed(route, f"warning: no gateway controller reported on HTTPRoute {meta['namespace']}/{meta['name']} "
                                 f"within {traffic.accepted_within}: the weights are written, nothing confirms a "
                                 "gateway serves them")  # fmt: skip
        time.sleep(poll)
        route = kube.get_route(meta["namespace"], meta["name"]) or route
