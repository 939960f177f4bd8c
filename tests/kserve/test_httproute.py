"""deploy.traffic's HTTPRoute (mlpipex.kserve.httproute, pure) and the order a step moves it in
(mlpipex.rollouts._routing). The real API server's validation of these routes (Gateway API
v1.5.1's CRD) and KServe's real Services are in tests/cluster/test_canary_route.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipex.config import load_config
from mlpipex.config.model import TrafficConfig
from mlpipex.errors import ConfigError, InputError
from mlpipex.kserve import (
    Rollout,
    build_http_route,
    build_inference_service,
    gateway_report,
    predictor_name,
    route_line,
    route_weights,
    weights_of,
)
from mlpipex.rollouts._steps import send

A = "registry.invalid/acme/models/bc@sha256:" + "a" * 64
B = "registry.invalid/acme/models/bc@sha256:" + "b" * 64
TRAFFIC = TrafficConfig.model_validate({"gateway": {"name": "edge"}, "hostnames": ["bc.example.com"],
                                        "accepted_within": "0s"})  # fmt: skip


def isvc(stable: str = "rev-a", canary: str | None = None, percent: int = 10) -> dict[str, Any]:
    spec: dict[str, Any] = {"predictor": {"name": stable}}
    if canary:
        spec["canary"] = [{"predictor": {"name": canary}, "trafficPercent": percent}]
    return {"metadata": {"name": "bc", "namespace": "prod", "annotations": {}}, "spec": spec}


def test_weights_follow_the_inference_service_kserve_names_each_service_after():
    assert route_weights(isvc()) == [("bc-rev-a-predictor", 100)]
    assert route_weights(isvc(canary="rev-b", percent=10)) == [("bc-rev-a-predictor", 90), ("bc-rev-b-predictor", 10)]
    assert route_weights(isvc(canary="rev-b", percent=0)) == [("bc-rev-a-predictor", 100), ("bc-rev-b-predictor", 0)]
    unnamed = {"metadata": {"name": "bc", "namespace": "prod"}, "spec": {"predictor": {}}}
    assert route_weights(unnamed) == [("bc-predictor", 100)]  # KServe's PredictorServiceName without a name


def test_the_route_of_a_real_canary_manifest(quickstart: Path):
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {"mode": "Standard", "traffic": {"gateway": {"name": "edge", "namespace": "gateways",
                                                                  "section_name": "https"}},
                      "environments": [{"name": "production", "namespace": "models"}]}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    env = config.deploy.environments[0]
    service = build_inference_service(config, env, Rollout(B, canary_percent=25, stable_artifact=A))
    traffic = config.deploy.traffic_for(env)
    assert traffic is not None
    route = build_http_route(service, traffic, owner_uid="1234")
    name = service["metadata"]["name"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1" and route["kind"] == "HTTPRoute"
    assert route["metadata"]["name"] == name and route["metadata"]["namespace"] == "models"
    assert route["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "mlpipex"
    assert route["metadata"]["ownerReferences"] == [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                                                     "name": name, "uid": "1234"}]  # fmt: skip
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge",
                                            "namespace": "gateways", "sectionName": "https"}]  # fmt: skip
    assert "hostnames" not in route["spec"]  # none configured: every host the listener accepts
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [
        {"group": "", "kind": "Service", "name": f"{name}-{predictor_name(A)}-predictor", "port": 80, "weight": 75},
        {"group": "", "kind": "Service", "name": f"{name}-{predictor_name(B)}-predictor", "port": 80, "weight": 25},
    ]
    assert route_line(route) == f"HTTPRoute {name}: {name}-{predictor_name(A)}-predictor 75%, " \
                                f"{name}-{predictor_name(B)}-predictor 25%"  # fmt: skip


def test_the_gateway_defaults_to_the_environments_namespace_and_no_uid_means_no_owner():
    route = build_http_route(isvc(), TRAFFIC)
    assert route["spec"]["parentRefs"][0]["namespace"] == "prod" and "sectionName" not in route["spec"]["parentRefs"][0]
    assert "ownerReferences" not in route["metadata"] and route["spec"]["hostnames"] == ["bc.example.com"]
    assert weights_of(build_http_route(isvc(), TRAFFIC, weights=[("x", 3)])) == [("x", 3)]
    assert weights_of(None) == [] and route_line(None) == "no HTTPRoute"


def _reported(route: dict[str, Any], *conditions: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
    route = dict(route, metadata=dict(route["metadata"], generation=2))
    route["status"] = {"parents": [{"parentRef": parent or route["spec"]["parentRefs"][0],
                                    "controllerName": "example.net/gw", "conditions": list(conditions)}]}  # fmt: skip
    return route


def test_the_gateways_report_for_this_generation():
    route = build_http_route(isvc(), TRAFFIC)
    assert not gateway_report(route).reported  # no controller has written anything
    ok = _reported(route, {"type": "Accepted", "status": "True", "observedGeneration": 2},
                   {"type": "ResolvedRefs", "status": "True", "observedGeneration": 2})  # fmt: skip
    assert gateway_report(ok).accepted
    refused = _reported(route, {"type": "Accepted", "status": "True", "observedGeneration": 2},
                        {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound",
                         "message": "service bc-rev-a-predictor not found", "observedGeneration": 2})  # fmt: skip
    assert gateway_report(refused).refused == ("example.net/gw: ResolvedRefs=False (BackendNotFound): "
                                               "service bc-rev-a-predictor not found")  # fmt: skip
    stale = _reported(route, {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "observedGeneration": 1})
    assert not gateway_report(stale).reported  # about the route before this change
    other = _reported(route, {"type": "Accepted", "status": "False", "observedGeneration": 2},
                      parent={"name": "other-gateway", "namespace": "prod"})  # fmt: skip
    assert not gateway_report(other).reported  # another parent's business


class RecordingCluster:
    """The four calls a routed step makes, in order; the InferenceService is Ready at once."""

    def __init__(self, route_status: dict[str, Any] | None = None) -> None:
        self.calls: list[str] = []
        self.route_status = route_status

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        sizes = [c["predictor"]["minReplicas"] for c in obj["spec"].get("canary") or [] if "minReplicas" in c["predictor"]]
        self.calls.append(f"apply InferenceService (canary minReplicas {sizes[0]})" if sizes else "apply InferenceService")
        return dict(obj, metadata=dict(obj["metadata"], uid="uid-1"))

    def ready_pods(self, namespace: str, component: str) -> int:
        self.calls.append(f"{component} pods Ready")
        return 3

    def wait_ready(self, namespace: str, name: str, *, timeout: float) -> dict[str, Any]:
        self.calls.append("Ready")
        return {"metadata": {"name": name, "uid": "uid-1"}}

    def apply_route(self, route: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"route {weights_of(route)}")
        return dict(route, status=self.route_status) if self.route_status else route

    def get_route(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None


def ready_canary(percent: int = 10) -> dict[str, Any]:
    obj = isvc(canary="rev-b", percent=percent)
    obj["status"] = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "CanaryPredictorReady", "status": "True"}],
                     "address": {"url": "http://bc-rev-a-predictor.prod.svc.cluster.local"}}  # fmt: skip
    obj["metadata"]["uid"] = "uid-1"
    return obj


def test_a_canary_step_routes_only_after_kserve_reports_the_canary_ready():
    kube = RecordingCluster()
    sent = send(kube, isvc(canary="rev-b", percent=50), ready_canary(10), TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert kube.calls == ["apply InferenceService", "Ready",
                          "route [('bc-rev-a-predictor', 50), ('bc-rev-b-predictor', 50)]"]  # fmt: skip
    assert sent.routed is not None and sent.routed.warning and "no gateway controller reported" in sent.routed.warning


def test_promotion_and_rollback_route_to_the_serving_predictor_before_the_canary_is_dropped():
    promote = RecordingCluster()
    send(promote, isvc(stable="rev-b"), ready_canary(50), TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert promote.calls == ["route [('bc-rev-b-predictor', 100)]", "apply InferenceService", "Ready"]
    rollback = RecordingCluster()
    send(rollback, isvc(stable="rev-a"), ready_canary(50), TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert rollback.calls == ["route [('bc-rev-a-predictor', 100)]", "apply InferenceService", "Ready"]
    # A cutover to a model not running yet: KServe makes it Ready first.
    cutover = RecordingCluster()
    send(cutover, isvc(stable="rev-c"), ready_canary(50), TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert cutover.calls == ["apply InferenceService", "Ready", "route [('bc-rev-c-predictor', 100)]"]


def test_a_promotion_to_100_scales_a_canary_sized_for_its_share_first_with_or_without_the_route():
    """KServe runs the 50% canary of minReplicas 3 with ceil(3 × 50%) = 2 replicas: the step first applies
    it at the same weights with the stable's 3, waits for 3 Ready pods and Ready, then moves the route.
    Without deploy.traffic (a KServe that weights canaries routes itself) the scale comes first all the same."""
    current = ready_canary(50)
    current["apiVersion"], current["kind"] = "serving.kserve.io/v1beta1", "InferenceService"
    current["spec"]["predictor"]["minReplicas"] = 3
    planned = isvc(stable="rev-b")
    scaled = ["apply InferenceService (canary minReplicas 3)", "bc-rev-b-predictor pods Ready", "Ready"]
    routed = RecordingCluster()
    sent = send(routed, planned, current, TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert routed.calls == [*scaled, "route [('bc-rev-b-predictor', 100)]", "apply InferenceService", "Ready"]
    assert sent.scaled == "scaled canary rev-b to 3 replicas (the stable's minReplicas) before moving traffic"
    kserve_routes = RecordingCluster()
    send(kserve_routes, planned, current, None, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert kserve_routes.calls == [*scaled, "apply InferenceService", "Ready"]
    # A canary at its share's size already (minReplicas 1: ceil(1 × 50%) = 1) is promoted as before.
    current["spec"]["predictor"]["minReplicas"] = 1
    as_before = RecordingCluster()
    assert send(as_before, planned, current, TRAFFIC, timeout=1, environment="prod").scaled is None  # type: ignore[arg-type]
    assert as_before.calls == ["route [('bc-rev-b-predictor', 100)]", "apply InferenceService", "Ready"]


def test_a_refusal_fails_the_step_in_the_gateways_words():
    refusal = {"parents": [{"parentRef": {"name": "edge", "namespace": "prod"}, "controllerName": "example.net/gw",
                            "conditions": [{"type": "Accepted", "status": "False", "reason": "NoMatchingListenerHostname",
                                            "message": "no listener matches bc.example.com"}]}]}  # fmt: skip
    kube = RecordingCluster(route_status=refusal)
    with pytest.raises(InputError, match=r"gateway refused HTTPRoute prod/bc .*Accepted=False \(NoMatchingListenerHostname\): "
                                         r"no listener matches bc.example.com") as refused:
        send(kube, isvc(canary="rev-b"), ready_canary(), TRAFFIC, timeout=1, environment="prod")  # type: ignore[arg-type]
    assert "deploy.traffic" in (refused.value.fix or "")


def _config_with(quickstart: Path, deploy: dict[str, Any]) -> Path:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = deploy
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_router_is_for_standard_mode_and_takes_gateway_api_host_names(quickstart: Path):
    knative = {"mode": "Knative", "traffic": {"gateway": {"name": "edge"}}, "environments": [{"name": "production"}]}
    with pytest.raises(ConfigError, match=r"environment production runs mode Knative.*deploy.traffic"):
        load_config(_config_with(quickstart, knative))
    bad_host = {"traffic": {"gateway": {"name": "edge"}, "hostnames": ["Models_Host"]}, "environments": [{"name": "production"}]}
    with pytest.raises(ConfigError, match=r"deploy\.traffic\.hostnames\[0\]"):
        load_config(_config_with(quickstart, bad_host))
    # An environment's own router wins over deploy.traffic; a Knative environment may go without one.
    mixed = {"environments": [{"name": "staging", "mode": "Knative"},
                              {"name": "production", "traffic": {"gateway": {"name": "edge", "namespace": "gw"}}}]}  # fmt: skip
    config = load_config(_config_with(quickstart, mixed))
    staging, production = config.deploy.environments
    assert config.deploy.traffic_for(staging) is None
    routed = config.deploy.traffic_for(production)
    assert routed is not None and routed.gateway.namespace == "gw" and routed.accepted_within == "10s"


def test_deploy_dry_run_prints_the_route_next_to_the_inference_service(quickstart: Path, capsys: pytest.CaptureFixture[str]):
    from mlpipex.cli import main

    path = _config_with(quickstart, {"storage": "fetch", "traffic": {"gateway": {"name": "edge"}},
                                     "environments": [{"name": "production", "namespace": "models",
                                                       "canary": {"steps": [20, 100]}}]})  # fmt: skip
    assert main(["deploy", "--dry-run", "-c", str(path), "--artifact", B, "--stable-artifact", A]) == 0
    service, route = yaml.safe_load_all(capsys.readouterr().out)
    name = service["metadata"]["name"]
    assert service["spec"]["canary"][0]["trafficPercent"] == 20
    assert route["kind"] == "HTTPRoute" and route["metadata"]["namespace"] == "models"
    assert weights_of(route) == [(f"{name}-{predictor_name(A)}-predictor", 80), (f"{name}-{predictor_name(B)}-predictor", 20)]


def test_a_retried_job_whose_step_was_taken_brings_the_route_up_to_date(quickstart: Path):
    """The App's job applied the canary and was killed before the route moved (it moves last); the retry
    finds the step stamped with its job and does not repeat it, but writes the route from the object."""
    from mlpipex.kserve.rollout import plan_deploy
    from mlpipex.rollouts import Rollouts

    path = _config_with(quickstart, {"traffic": {"gateway": {"name": "edge"}, "accepted_within": "0s"},
                                     "environments": [{"name": "production", "namespace": "prod",
                                                       "canary": {"steps": [10, 100]}}]})  # fmt: skip
    config = load_config(path)
    env = config.deploy.environments[0]
    first = plan_deploy(config, env, None, Rollout(A, deployed_by="octocat via job 6"))
    current = plan_deploy(config, env, first, Rollout(B, deployed_by="octocat via job 7"))
    name = current["metadata"]["name"]
    current["metadata"]["uid"] = "uid-1"
    current["status"] = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "CanaryPredictorReady", "status": "True"}],
                         "address": {"url": f"http://{name}-{predictor_name(A)}-predictor.prod.svc.cluster.local"}}  # fmt: skip

    class Interrupted(RecordingCluster):
        def get(self, namespace: str, name: str) -> dict[str, Any]:
            return current

        def kserve_facts(self) -> tuple[None, None, None]:
            return None, None, None  # nothing readable: no competing route can be seen

    kube = Interrupted()
    outcome = Rollouts(cluster_for=lambda e: kube, resumable=True).deploy(config, env, B, by="octocat via job 7")  # type: ignore[arg-type,return-value]
    assert outcome.ok and outcome.repeated
    assert kube.calls == [f"route [('{name}-{predictor_name(A)}-predictor', 90), ('{name}-{predictor_name(B)}-predictor', 10)]"]
