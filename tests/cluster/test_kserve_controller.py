"""mlpipex's InferenceServices against KServe v0.20.0's own webhooks and controller.

The objects come from mlpipex's manifest builder (mlpipex.kserve.build_inference_service);
admission is KServe's defaulting and validating webhooks, called by the real API server;
the Deployment, Service and HPA are the ones KServe's controller makes; the scheduler puts
the predictor pod on the GPU pool and KWOK runs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .controlplane import ControlPlane
from .kserve import KServeController
from .objects import GROUP, PLURAL, VERSION, mlpipex_service, wait_for

pytestmark = pytest.mark.timeout(300)

NAME_REFUSED = "the 'name' field is not allowed in standard predictor"  # KServe v0.20.0, inference_service_validation.go


def create(plane: ControlPlane, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    api = client.CustomObjectsApi(plane.api_client())
    return api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)  # type: ignore[no-any-return]


def test_kserve_refuses_a_named_predictor_model_with_its_own_message(control_plane: ControlPlane, namespace: str,
                                                                     quickstart: Path) -> None:  # fmt: skip
    service = mlpipex_service(quickstart, namespace)
    service["spec"]["predictor"]["model"]["name"] = "kserve-container"
    with pytest.raises(ApiException) as refused:
        create(control_plane, namespace, service)
    status = json.loads(refused.value.body)
    assert status["message"] == ('admission webhook "inferenceservice.kserve-webhook-server.validator" denied the request: '
                                 + NAME_REFUSED), status  # fmt: skip
    assert refused.value.status == 403  # controller-runtime's admission.Denied


def test_kserve_refuses_an_autoscaler_class_it_does_not_know(control_plane: ControlPlane, namespace: str,
                                                             quickstart: Path) -> None:  # fmt: skip
    service = mlpipex_service(quickstart, namespace)
    service["spec"]["predictor"]["model"].pop("name", None)
    service["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "kpa"
    with pytest.raises(ApiException) as refused:
        create(control_plane, namespace, service)
    assert "[kpa] is not a supported autoscaler class type" in refused.value.body


def test_mlpipex_first_rollout_is_reconciled_into_a_running_predictor_on_the_gpu_pool(
        control_plane: ControlPlane, kserve: KServeController, namespace: str, quickstart: Path) -> None:  # fmt: skip
    service = mlpipex_service(quickstart, namespace)
    name = service["metadata"]["name"]
    # A named predictor (mlpipex names each after its model's digest, so a full promotion keeps the
    # canary's Deployment) gets KServe's Deployment, Service and HPA `{isvc}-{predictor}-predictor`.
    predictor = service["spec"]["predictor"].get("name")
    workload = f"{name}-{predictor}-predictor" if predictor else f"{name}-predictor"
    created = create(control_plane, namespace, service)
    # The defaulting webhook ran: Standard stays Standard, and the controller picks a runtime later.
    assert created["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"

    api = control_plane.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    autoscaling = client.AutoscalingV2Api(api)
    deployment = wait_for(lambda: apps.read_namespaced_deployment(workload, namespace), 60,
                          f"KServe's Deployment {workload}\n{kserve.log_tail()}")  # fmt: skip
    container = next(c for c in deployment.spec.template.spec.containers if c.name == "kserve-container")
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert deployment.spec.template.spec.node_selector == {"mlpipex.test/pool": "gpu"}
    service_object = wait_for(lambda: core.read_namespaced_service(workload, namespace), 30, "the predictor Service")
    assert service_object.spec.selector
    hpa = wait_for(lambda: autoscaling.read_namespaced_horizontal_pod_autoscaler(workload, namespace), 30,
                   "the predictor HPA")  # fmt: skip
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 2)

    def running_pod() -> Any:
        pods = core.list_namespaced_pod(namespace, label_selector=f"serving.kserve.io/inferenceservice={name}").items
        return next((p for p in pods if p.status.phase == "Running"), None)

    pod = wait_for(running_pod, 90, "a Running predictor pod")
    assert pod.spec.node_name == "kwok-gpu-0"
    # KServe's pod webhook made it a modelcar pod: the oci:// image runs next to the server.
    assert "modelcar" in {c.name for c in pod.spec.containers} | {c.name for c in (pod.spec.init_containers or [])}

    custom = client.CustomObjectsApi(api)

    def ready() -> Any:
        isvc = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        conditions = {c["type"]: c["status"] for c in isvc.get("status", {}).get("conditions", [])}
        return isvc if conditions.get("Ready") == "True" else None

    isvc = wait_for(ready, 90, f"the InferenceService to be Ready\n{kserve.log_tail()}")
    conditions = {c["type"]: c["status"] for c in isvc["status"]["conditions"]}
    assert conditions["PredictorReady"] == "True"
    assert isvc["status"]["deploymentMode"] == "Standard"
    # KServe's runtime choice as its controller makes it: onnx + protocol v2 with no runtime named gets
    # kserve-openvino (its onnx priority is 2) over kserve-tritonserver (priority 1) on a default install.
    assert isvc["status"]["clusterServingRuntimeName"] == "kserve-openvino"


def test_the_cluster_shows_kserves_controller_deployment_at_the_built_version(control_plane: ControlPlane,
                                                                            kserve: KServeController) -> None:  # fmt: skip
    apps = client.AppsV1Api(control_plane.api_client())

    def available() -> Any:
        deployment = apps.read_namespaced_deployment("kserve-controller-manager", "kserve")
        return deployment if deployment.status.available_replicas == 1 else None

    deployment = wait_for(available, 60, "KServe's controller Deployment (run by KWOK)")
    (container,) = deployment.spec.template.spec.containers
    assert (container.name, container.image) == ("manager", "kserve/kserve-controller:v0.20.0")


def test_a_standard_mode_canary_gets_its_own_deployment_and_status_on_v0_20(control_plane: ControlPlane,
                                                                            namespace: str) -> None:  # fmt: skip
    """What KServe v0.20.0's controller really does with spec.canary[] (written by hand in the shape
    its webhook admits: mlpipex's builder on this branch still sends canary[].predictor without a name)."""

    def model(digest: str) -> dict[str, Any]:
        return {"modelFormat": {"name": "onnx"}, "protocolVersion": "v2",
                "storageUri": f"oci://registry.invalid/acme/bc@sha256:{digest * 64}"}  # fmt: skip

    create(control_plane, namespace, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceService",
        "metadata": {"name": "bc", "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 2, "model": model("a")},
                 "canary": [{"predictor": {"name": "v2", "minReplicas": 1, "model": model("b")}, "trafficPercent": 10}]},
    })  # fmt: skip
    api = control_plane.api_client()
    custom = client.CustomObjectsApi(api)

    def ready() -> Any:
        isvc = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "bc")
        conditions = {c["type"]: c["status"] for c in isvc.get("status", {}).get("conditions", [])}
        return isvc if conditions.get("Ready") == "True" and conditions.get("CanaryPredictorReady") == "True" else None

    isvc = wait_for(ready, 90, "Ready and CanaryPredictorReady")
    assert isvc["status"]["canaryStatuses"] == [
        {"name": "v2", "ready": True, "trafficPercent": 10, "modelStatus": {"transitionStatus": ""}}]
    apps = client.AppsV1Api(api)
    assert {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items} == {"bc-predictor", "bc-v2-predictor"}
    assert {s.metadata.name for s in client.CoreV1Api(api).list_namespaced_service(namespace).items} == {
        "bc-predictor", "bc-v2-predictor"}
    hpa = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("bc-v2-predictor", namespace)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 1)  # a canary runs fixed replicas
