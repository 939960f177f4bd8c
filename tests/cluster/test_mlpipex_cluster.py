"""mlpipex's own Kubernetes client (mlpipex.kserve.cluster.Cluster) against the real API server
and KServe's controller: server-side apply, readiness from KServe's real conditions, and
errors explained from the real responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.dynamic import DynamicClient

from mlpipex.errors import ExternalError, InputError
from mlpipex.kserve.cluster import FIELD_MANAGER, Cluster, ready

from .controlplane import ControlPlane
from .objects import mlpipex_service, without_model_name

pytestmark = pytest.mark.timeout(300)


def test_apply_is_server_side_apply_and_wait_ready_sees_kserves_ready(control_plane: ControlPlane, namespace: str,
                                                                      quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    service = without_model_name(mlpipex_service(quickstart, namespace))
    name = service["metadata"]["name"]
    applied = cluster.apply(service)
    (entry,) = [m for m in applied["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER]
    assert entry["operation"] == "Apply"
    assert "f:storageUri" in str(entry["fieldsV1"])
    assert cluster.crd().problems(service) == []  # the CRD as the real API server serves it
    obj = cluster.wait_ready(namespace, name, timeout=90, poll=0.3)
    assert ready(obj) and obj["status"]["observedGeneration"] == obj["metadata"]["generation"]


def test_a_second_writer_is_overridden_by_mlpipexs_forced_apply(control_plane: ControlPlane, namespace: str,
                                                                quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    service = without_model_name(mlpipex_service(quickstart, namespace))
    name = service["metadata"]["name"]
    cluster.apply(service)
    isvcs = DynamicClient(control_plane.api_client()).resources.get(api_version="serving.kserve.io/v1beta1",
                                                                    kind="InferenceService")  # fmt: skip
    edit = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"predictor": {"minReplicas": 2}}}  # fmt: skip
    isvcs.server_side_apply(edit, namespace=namespace, field_manager="oncall-kubectl", force_conflicts=True)
    assert cluster.get(namespace, name)["spec"]["predictor"]["minReplicas"] == 2
    # mlpipex applies with force=True: the next rollout takes the field back, without a word.
    restored = cluster.apply(service)
    assert restored["spec"]["predictor"]["minReplicas"] == 1
    owners = {m["manager"] for m in restored["metadata"]["managedFields"] if "f:minReplicas" in str(m.get("fieldsV1"))}
    assert owners == {FIELD_MANAGER}


def test_missing_rights_are_an_outside_failure_naming_the_permission(control_plane: ControlPlane, namespace: str,
                                                                     quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig_for("ci-deployer", ("mlpipex:ci",))))
    cluster.retries = 0
    with pytest.raises(ExternalError) as refused:
        cluster.apply(without_model_name(mlpipex_service(quickstart, namespace)))
    assert refused.value.exit_code == 3
    assert 'User "ci-deployer" cannot patch resource "inferenceservices" in API group "serving.kserve.io"' in str(refused.value)


def test_a_kserve_refusal_is_bad_input_with_kserves_message(control_plane: ControlPlane, namespace: str,
                                                            quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    cluster.retries = 0
    service = mlpipex_service(quickstart, namespace)
    service["spec"]["predictor"]["model"]["name"] = "kserve-container"
    with pytest.raises(InputError) as refused:
        cluster.apply(service)
    assert refused.value.exit_code == 2
    assert "the 'name' field is not allowed in standard predictor" in str(refused.value)


def test_an_unschedulable_predictor_times_out_with_kserves_real_conditions(control_plane: ControlPlane, namespace: str,
                                                                         quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    service = without_model_name(mlpipex_service(quickstart, namespace, tolerations=[]))  # no toleration for the GPU taint
    name = service["metadata"]["name"]
    cluster.apply(service)
    with pytest.raises(ExternalError) as waiting:
        cluster.wait_ready(namespace, name, timeout=5, poll=0.5)
    message = str(waiting.value)
    assert f"{namespace}/{name} is not Ready after 5 s" in message
    # What KServe's controller really reports for a pod the scheduler cannot place. The reason itself
    # ("untolerated taint(s)") is only on the pod and its FailedScheduling event, not on the ISVC.
    assert "PredictorReady is False (MinimumReplicasUnavailable: Deployment does not have minimum availability.)" in message
    # ...so mlpipex reads it off the pod and quotes the real scheduler.
    assert "cannot be scheduled: 0/3 nodes are available" in message and "untolerated taint" in message, message
    assert "deploy.tolerations" in str(waiting.value.fix)
