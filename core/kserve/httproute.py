"""The HTTPRoute that weights a Standard-mode canary, and what its gateway says of it (pure).

KServe v0.20.0 in Standard mode gives each ``spec.canary[]`` entry its own Deployment and
Service (``{isvc}-{name}-predictor``) but weights no traffic to it (the HTTPRoute weighting
is on KServe's master only). With ``deploy.traffic`` set, mlpipex owns that routing, as
Flagger does: one ``gateway.networking.k8s.io/v1`` HTTPRoute named after the
InferenceService, in its namespace, attached to the configured Gateway, with one rule
whose backendRefs are KServe's predictor Services: the stable one at 100-P, each canary at
its ``trafficPercent`` P, port 80 (KServe's predictor Service port). The route is owned by
the InferenceService, so Kubernetes deletes it with it.

Shape other tools read (the e2e router does): ``rules[0].backendRefs[*] = {name, port, weight}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpipex.config.model import TrafficConfig
from mlpipex.kserve.manifests import API_VERSION, KIND

__all__ = [
    "ROUTE_API_VERSION",
    "ROUTE_KIND",
    "SERVICE_PORT",
    "GatewayReport",
    "build_http_route",
    "gateway_report",
    "predictor_service",
    "route_line",
    "route_weights",
    "weights_of",
]

ROUTE_API_VERSION = "gateway.networking.k8s.io/v1"
ROUTE_KIND = "HTTPRoute"
SERVICE_PORT = 80  # KServe's predictor Service listens on 80 in Standard mode (targetPort the container's 8080)


def predictor_service(isvc: str, predictor: str | None) -> str:
    """KServe's Service for a predictor: ``{isvc}-{name}-predictor``, or ``{isvc}-predictor`` unnamed
    (``constants.PredictorServiceName`` in KServe v0.20.0)."""
    return f"{isvc}-{predictor}-predictor" if predictor else f"{isvc}-predictor"


def route_weights(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(Service, weight) for an InferenceService manifest: the stable predictor 100-ΣP, each canary P.

    The stable comes first, then the canaries in their order; a canary at 0% (a dark launch)
    keeps its entry at weight 0, so it is reachable by nobody but listed.
    """
    name = service["metadata"]["name"]
    spec = service.get("spec") or {}
    canaries = [(predictor_service(name, (entry.get("predictor") or {}).get("name")), int(entry.get("trafficPercent", 0)))
                for entry in spec.get("canary") or []]  # fmt: skip
    stable = predictor_service(name, (spec.get("predictor") or {}).get("name"))
    return [(stable, 100 - sum(weight for _, weight in canaries)), *canaries]


def build_http_route(service: dict[str, Any], traffic: TrafficConfig, *, owner_uid: str | None = None,
                     weights: list[tuple[str, int]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The HTTPRoute for ``service`` (an InferenceService manifest) with ``weights`` (default: its own).

    ``owner_uid`` is the InferenceService's uid as the API server gave it: with it the route
    carries an ownerReference and is garbage-collected with the InferenceService (no
    ``controller: true``: KServe's reconciler, when its own Gateway API mode is on, adopts
    routes it controls, and this one is mlpipex's).
    """
    meta = service["metadata"]
    gateway = traffic.gateway
    parent: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name,
                              "namespace": gateway.namespace or meta["namespace"]}  # fmt: skip
    if gateway.section_name:
        parent["sectionName"] = gateway.section_name
    backends = [{"group": "", "kind": "Service", "name": name, "port": SERVICE_PORT, "weight": weight}
                for name, weight in (weights if weights is not None else route_weights(service))]  # fmt: skip
    metadata: dict[str, Any] = {
        "name": meta["name"],
        "namespace": meta["namespace"],
        "labels": {"app.kubernetes.io/managed-by": "mlpipex", "mlpipex.dev/inferenceservice": meta["name"]},
    }
    if owner_uid:
        metadata["ownerReferences"] = [{"apiVersion": API_VERSION, "kind": KIND, "name": meta["name"], "uid": owner_uid}]
    spec: dict[str, Any] = {"parentRefs": [parent],
                            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": backends}]}  # fmt: skip
    if traffic.hostnames:
        spec["hostnames"] = list(traffic.hostnames)
    return {"apiVersion": ROUTE_API_VERSION, "kind": ROUTE_KIND, "metadata": metadata, "spec": spec}


def weights_of(route: dict[str, Any] | None) -> list[tuple[str, int]]:
    """(Service, weight) of the route's first rule, as the cluster has it (weight defaults to 1 in Gateway API)."""
    rules = ((route or {}).get("spec") or {}).get("rules") or []
    refs = rules[0].get("backendRefs") or [] if rules else []
    return [(str(ref.get("name")), int(ref.get("weight", 1))) for ref in refs]


def route_line(route: dict[str, Any] | None) -> str:
    """``HTTPRoute bc: bc-rev-a-predictor 90%, bc-rev-b-predictor 10%`` (what `mlpipex status` prints)."""
    if route is None:
        return "no HTTPRoute"
    return f"HTTPRoute {route['metadata']['name']}: " + (
        ", ".join(f"{name} {weight}%" for name, weight in weights_of(route)) or "no backends")


@dataclass(frozen=True)
class GatewayReport:
    """What the gateway controller says of our parentRef for the route's current generation."""

    reported: bool  # some controller wrote conditions for our parent, for this generation
    refused: str | None = None  # the refusal in the gateway's words ("Accepted=False (NotAllowedByListeners): ...")

    @property
    def accepted(self) -> bool:
        return self.reported and self.refused is None


def _same_parent(ref: dict[str, Any], wanted: dict[str, Any], namespace: str) -> bool:
    return (ref.get("name") == wanted.get("name") and (ref.get("namespace") or namespace) == wanted.get("namespace")
            and ref.get("sectionName") == wanted.get("sectionName")
            and ref.get("kind", "Gateway") == "Gateway")  # fmt: skip


def gateway_report(route: dict[str, Any]) -> GatewayReport:
    """Read ``status.parents`` for the route's own parentRef (the first), ignoring conditions of an
    older generation (a refusal the gateway made before this change is not about this one)."""
    meta = route.get("metadata") or {}
    generation, namespace = meta.get("generation"), meta.get("namespace", "")
    wanted = (((route.get("spec") or {}).get("parentRefs") or [{}])[0]) | {}
    wanted.setdefault("namespace", namespace)
    for parent in (route.get("status") or {}).get("parents") or []:
        if not _same_parent(parent.get("parentRef") or {}, wanted, namespace):
            continue
        conditions = [c for c in parent.get("conditions") or []
                      if generation is None or c.get("observedGeneration") in (None, generation)]  # fmt: skip
        kinds = {c.get("type") for c in conditions}
        if not {"Accepted", "ResolvedRefs"} & kinds:
            continue
        refusals = [f"{c['type']}=False ({c.get('reason')}): {c.get('message') or 'no message'}"
                    for c in conditions if c.get("type") in ("Accepted", "ResolvedRefs") and c.get("status") == "False"]  # fmt: skip
        controller = parent.get("controllerName") or "the gateway controller"
        return GatewayReport(True, f"{controller}: " + "; ".join(refusals) if refusals else None)
    return GatewayReport(False)
