"""Standard-mode canaries on KServe v0.20.0 through the HTTPRoute mlpipex owns (deploy.traffic), against
the real API server (which validates every route with the Gateway API v1.5.1 CRD's OpenAPI and CEL
rules) and KServe's own controller (which makes the canary's Deployment and Service).

KServe v0.20.0 weights no canary traffic itself (tests/cluster/test_rollout_flow.py: without a router
the canary is refused); with the router the canary runs, and the route's weights follow each step.
No gateway controller runs here: where a test needs one, it writes the route's status through the
status subresource as a controller would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from mlpipex.errors import InputError
from mlpipex.kserve import predictor_name, weights_of
from mlpipex.rollouts import Rollouts

from .controlplane import ControlPlane
from .objects import wait_for
from .test_rollout_flow import A, B, configured, deployments, flow

pytestmark = pytest.mark.timeout(300)

ISVC = "breast-cancer"
GATEWAY_GROUP, GATEWAY_VERSION = "gateway.networking.k8s.io", "v1"
CONTROLLER = "example.net/gateway-controller"


def svc(artifact: str) -> str:
    return f"{ISVC}-{predictor_name(artifact)}-predictor"


def route_of(control_plane: ControlPlane, namespace: str) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = client.CustomObjectsApi(control_plane.api_client()).get_namespaced_custom_object(
            GATEWAY_GROUP, GATEWAY_VERSION, namespace, "httproutes", ISVC)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return obj


def traffic(accepted_within: str = "0s") -> dict[str, Any]:
    return {"gateway": {"name": "edge", "namespace": "gateways", "section_name": "http"},
            "hostnames": ["bc.models.example.com"], "accepted_within": accepted_within}  # fmt: skip


def test_a_canary_10_50_100_moves_the_routes_weights_and_promotion_leaves_one_backend(
        control_plane: ControlPlane, namespace: str, quickstart: Path) -> None:  # fmt: skip
    config = configured(quickstart, namespace, canary={"steps": [10, 50, 100]}, traffic=traffic())
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)

    first = rollouts.deploy(config, env, A, by="octocat")
    assert first.ok, first.event.message
    route = route_of(control_plane, namespace)
    assert route is not None and weights_of(route) == [(svc(A), 100)]
    isvc = rollouts.status(config, env).obj
    assert isvc is not None
    # Owned by the InferenceService (deleted with it), labelled as mlpipex's, on the configured gateway.
    assert route["metadata"]["ownerReferences"][0]["uid"] == isvc["metadata"]["uid"]
    assert route["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "mlpipex"
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge",
                                            "namespace": "gateways", "sectionName": "http"}]  # fmt: skip
    assert route["spec"]["hostnames"] == ["bc.models.example.com"]
    assert all(ref["port"] == 80 for ref in route["spec"]["rules"][0]["backendRefs"])
    # No gateway controller runs here: the step says nobody confirmed the weights, and still succeeds.
    assert any("no gateway controller reported" in w for w in first.warnings), first.warnings
    assert "HTTPRoute breast-cancer:" in first.event.message

    canary = rollouts.deploy(config, env, B, by="octocat")
    assert canary.ok and canary.in_canary and canary.event.traffic == 10, canary.event.message
    # KServe's real controller made the canary's own Deployment; the route weights it 10%.
    assert svc(B) in deployments(control_plane, namespace)
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 90), (svc(B), 10)]
    status = rollouts.status(config, env)
    assert status.obj is not None
    assert {c["type"]: c["status"] for c in status.obj["status"]["conditions"]}["CanaryPredictorReady"] == "True"
    assert weights_of(status.route) == [(svc(A), 90), (svc(B), 10)]

    half = rollouts.promote(config, env, by="octocat")
    assert half.ok and half.event.traffic == 50, half.event.message
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 50), (svc(B), 50)]

    full = rollouts.promote(config, env, by="octocat")
    assert full.ok and not full.in_canary and full.event.traffic == 100, full.event.message
    assert weights_of(route_of(control_plane, namespace)) == [(svc(B), 100)]
    obj = rollouts.status(config, env).obj
    assert obj is not None and "canary" not in obj["spec"] and obj["spec"]["predictor"]["name"] == predictor_name(B)
    # Kubernetes' garbage collector deletes the route with its InferenceService.
    client.CustomObjectsApi(control_plane.api_client()).delete_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", ISVC)
    wait_for(lambda: route_of(control_plane, namespace) is None, 60, "the route deleted with its InferenceService")


def test_rollback_mid_canary_routes_everything_back_to_the_stable_model(control_plane: ControlPlane, namespace: str,
                                                                         quickstart: Path) -> None:  # fmt: skip
    config = configured(quickstart, namespace, canary={"steps": [10, 50, 100]}, traffic=traffic())
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)
    assert rollouts.deploy(config, env, A, by="octocat").ok
    assert rollouts.deploy(config, env, B, by="octocat").ok
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 90), (svc(B), 10)]

    back = rollouts.rollback(config, env, by="octocat")
    assert back.ok and (back.from_digest, back.to_digest, back.event.traffic) == (B, A, 100), back.event.message
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 100)]
    obj = rollouts.status(config, env).obj
    assert obj is not None and "canary" not in obj["spec"] and obj["spec"]["predictor"]["name"] == predictor_name(A)


class GatewayController:
    """Writes the route's status as a gateway controller does (status subresource, per generation):
    Accepted while ``refuse`` is None, else Accepted=False with that message."""

    def __init__(self, control_plane: ControlPlane, namespace: str) -> None:
        self.api = client.CustomObjectsApi(control_plane.api_client())
        self.namespace = namespace
        self.refuse: str | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seen: tuple[int, str | None] | None = None
        while not self.stop.wait(0.2):
            try:
                route = self.api.get_namespaced_custom_object(GATEWAY_GROUP, GATEWAY_VERSION, self.namespace, "httproutes", ISVC)
            except client.ApiException:
                continue
            generation = route["metadata"]["generation"]
            if seen == (generation, self.refuse):
                continue
            accepted = {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Route is accepted"}
            if self.refuse:
                accepted = {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": self.refuse}
            conditions = [dict(c, observedGeneration=generation, lastTransitionTime="2026-12-01T12:00:00Z")
                          for c in (accepted, {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs",
                                               "message": "Resolved all the Object references for the Route"})]  # fmt: skip
            status = {"status": {"parents": [{"parentRef": route["spec"]["parentRefs"][0], "controllerName": CONTROLLER,
                                              "conditions": conditions}]}}  # fmt: skip
            self.api.patch_namespaced_custom_object_status(GATEWAY_GROUP, GATEWAY_VERSION, self.namespace, "httproutes",
                                                           ISVC, status)  # fmt: skip
            seen = (generation, self.refuse)


@pytest.fixture
def gateway(control_plane: ControlPlane, namespace: str) -> Iterator[GatewayController]:
    controller = GatewayController(control_plane, namespace)
    controller.thread.start()
    yield controller
    controller.stop.set()
    controller.thread.join(timeout=5)


def test_a_route_its_gateway_refuses_fails_the_step_with_the_gateways_words(
        control_plane: ControlPlane, namespace: str, quickstart: Path, gateway: GatewayController) -> None:  # fmt: skip
    config = configured(quickstart, namespace, canary={"steps": [10, 50, 100]},
                        traffic=traffic(accepted_within="30s"))  # fmt: skip
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)
    first = rollouts.deploy(config, env, A, by="octocat")
    assert first.ok and first.warnings == (), (first.event.message, first.warnings)  # the gateway accepted it

    gateway.refuse = "hostname bc.models.example.com is not allowed by listener http"
    canary = rollouts.deploy(config, env, B, by="octocat")
    assert not canary.ok and isinstance(canary.error, InputError)
    message = str(canary.error)
    assert "the gateway refused HTTPRoute" in message and CONTROLLER in message, message
    assert "Accepted=False (NotAllowedByListeners): hostname bc.models.example.com is not allowed by listener http" in message
    assert "deploy.traffic" in (canary.error.fix or "")


def test_kserve_writing_its_own_route_is_refused_before_anything_is_sent(control_plane: ControlPlane, namespace: str,
                                                                        quickstart: Path) -> None:  # fmt: skip
    core = client.CoreV1Api(control_plane.api_client())
    original = core.read_namespaced_config_map("inferenceservice-config", "kserve")
    ingress = json.loads(original.data["ingress"])
    competing = dict(ingress, enableGatewayApi=True, disableIngressCreation=False)
    config = configured(quickstart, namespace, traffic=traffic())
    env = config.deploy.environments[0]
    rollouts = Rollouts(kubeconfig=str(control_plane.kubeconfig), timeout=30, storage=flow(control_plane).storage)
    core.patch_namespaced_config_map("inferenceservice-config", "kserve", {"data": {"ingress": json.dumps(competing)}})
    try:
        refused = rollouts.deploy(config, env, A, by="octocat")
    finally:
        core.patch_namespaced_config_map("inferenceservice-config", "kserve", {"data": {"ingress": original.data["ingress"]}})
    assert not refused.ok and isinstance(refused.error, InputError)
    message = str(refused.error)
    assert "v0.20.0 writes its own HTTPRoute breast-cancer" in message, message
    assert "disableIngressCreation: true" in (refused.error.fix or "")
    assert rollouts.status(config, env).obj is None and route_of(control_plane, namespace) is None  # nothing was sent
