"""The test control plane is the real thing: its scheduler places pods by taints and
resources, its API server enforces server-side-apply ownership, optimistic concurrency
and RBAC. Each of these fails against a fake that only stores objects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from .controlplane import ControlPlane

pytestmark = pytest.mark.timeout(300)


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(control_plane.api_client())
    core.create_namespace({"metadata": {"name": name}})
    # The controller-manager gives every namespace its default ServiceAccount; pods need it.
    wait_for(lambda: any(a.metadata.name == "default" for a in core.list_namespaced_service_account(name).items),
             30, "the default ServiceAccount")  # fmt: skip
    yield name
    core.delete_namespace(name)


def gpu_deployment(name: str, *, tolerate: bool, gpus: int = 1) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "containers": [{"name": "model", "image": "registry.invalid/model:1",
                        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}, "requests": {"cpu": "500m", "memory": "1Gi"}}}],
    }  # fmt: skip
    if tolerate:
        pod_spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }  # fmt: skip


def _available(apps: client.AppsV1Api, namespace: str, name: str) -> bool:
    status = apps.read_namespaced_deployment(name, namespace).status
    return any(c.type == "Available" and c.status == "True" for c in (status.conditions or [])) and status.available_replicas == 1


def test_gpu_deployment_is_placed_on_the_gpu_pool_by_the_scheduler_and_becomes_available(control_plane: ControlPlane,
                                                                                        namespace: str) -> None:  # fmt: skip
    api = control_plane.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, gpu_deployment("gpu-model", tolerate=True))
    wait_for(lambda: _available(apps, namespace, "gpu-model"), 60, "the Deployment to become Available")
    (pod,) = core.list_namespaced_pod(namespace, label_selector="app=gpu-model").items
    assert pod.spec.node_name == "kwok-gpu-0"  # the only node with nvidia.com/gpu capacity
    assert pod.status.phase == "Running"
    node = core.read_node(pod.spec.node_name)
    assert node.metadata.labels["mlpipex.test/pool"] == "gpu"


def test_without_the_toleration_the_pod_stays_pending_with_the_schedulers_reason(control_plane: ControlPlane,
                                                                               namespace: str) -> None:  # fmt: skip
    api = control_plane.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, gpu_deployment("no-toleration", tolerate=False))

    def failed_scheduling() -> Any:
        events = core.list_namespaced_event(namespace, field_selector="reason=FailedScheduling").items
        return events[0] if events else None

    event = wait_for(failed_scheduling, 60, "a FailedScheduling event")
    assert event.source.component == "default-scheduler" or event.reporting_component == "default-scheduler"
    # The scheduler's own words (v1.34 no longer names the taint): the GPU node is tainted, the CPU nodes have no GPU.
    assert event.message.startswith(
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient nvidia.com/gpu.")
    (pod,) = core.list_namespaced_pod(namespace, label_selector="app=no-toleration").items
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert "1 node(s) had untolerated taint(s)" in scheduled.message
    assert not _available(apps, namespace, "no-toleration")


def test_more_gpus_than_any_node_has_stays_pending(control_plane: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    client.AppsV1Api(control_plane.api_client()).create_namespaced_deployment(
        namespace, gpu_deployment("too-many", tolerate=True, gpus=4))

    def message() -> str:
        events = core.list_namespaced_event(namespace, field_selector="reason=FailedScheduling").items
        return events[0].message if events else ""

    text = wait_for(message, 60, "a FailedScheduling event")
    assert "3 Insufficient nvidia.com/gpu" in text


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": data}


def test_server_side_apply_refuses_a_field_another_manager_owns(control_plane: ControlPlane, namespace: str) -> None:
    dyn = DynamicClient(control_plane.api_client())
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    configmaps.server_side_apply(_configmap({"replicas": "1"}), namespace=namespace, field_manager="mlpipex")
    with pytest.raises(ApiException) as refused:
        configmaps.server_side_apply(_configmap({"replicas": "3"}), namespace=namespace, field_manager="kubectl-edit")
    assert refused.value.status == 409
    status = json.loads(refused.value.body)
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "mlpipex": .data.replicas'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "mlpipex"',
                                            "field": ".data.replicas"}]  # fmt: skip
    forced = configmaps.server_side_apply(_configmap({"replicas": "3"}), namespace=namespace, field_manager="kubectl-edit",
                                          force_conflicts=True)  # fmt: skip
    assert forced.data.replicas == "3"
    owners = {m.manager for m in forced.metadata.managedFields if "f:replicas" in str(m.fieldsV1)}
    assert owners == {"kubectl-edit"}  # the force moved ownership: mlpipex no longer owns the field


def test_a_stale_resource_version_is_a_conflict(control_plane: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "rv"}, "data": {"step": "0"}})
    first = core.read_namespaced_config_map("rv", namespace)
    first.data["step"] = "1"
    core.replace_namespaced_config_map("rv", namespace, first)
    created.data["step"] = "2"  # written from the stale read
    with pytest.raises(ApiException) as refused:
        core.replace_namespaced_config_map("rv", namespace, created)
    assert refused.value.status == 409
    assert "the object has been modified; please apply your changes to the latest version and try again" in refused.value.body
    assert core.read_namespaced_config_map("rv", namespace).data["step"] == "1"


def test_rbac_decides_for_a_minted_user(control_plane: ControlPlane, namespace: str) -> None:
    alice = client.CoreV1Api(control_plane.api_client(control_plane.kubeconfig_for("alice", ("mlpipex:readers",))))
    with pytest.raises(ApiException) as refused:
        alice.list_namespaced_pod(namespace)
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == (
        f'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "{namespace}"')
    rbac = client.RbacAuthorizationV1Api(control_plane.api_client())
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "pod-reader"},
                                            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]})  # fmt: skip
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "readers"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "mlpipex:readers"}]})  # fmt: skip
    wait_for(lambda: _can_list(alice, namespace), 10, "the RoleBinding to take effect")
    with pytest.raises(ApiException) as still:
        alice.delete_collection_namespaced_pod(namespace)
    assert still.value.status == 403


def _can_list(api: client.CoreV1Api, namespace: str) -> bool:
    try:
        api.list_namespaced_pod(namespace)
    except ApiException:
        return False
    return True
