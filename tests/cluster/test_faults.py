"""Faults produced for real: KServe's controller down, the API server killed mid-rollout.
What mlpipex's client says comes from the real failure, not from a scripted one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.errors import ExternalError
from mlpipex.kserve.cluster import Cluster, ready

from .controlplane import ControlPlane
from .kserve import KServeController
from .objects import mlpipex_service, without_model_name

pytestmark = pytest.mark.timeout(300)


def test_with_kserves_webhooks_down_a_write_is_an_outside_failure_until_they_are_back(
        control_plane: ControlPlane, kserve: KServeController, namespace: str, quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    cluster.retries = 1
    service = without_model_name(mlpipex_service(quickstart, namespace))
    control_plane.kill("kserve-manager")
    try:
        with pytest.raises(ExternalError) as refused:
            cluster.apply(service)
    finally:
        control_plane.restart("kserve-manager")
    message = str(refused.value)
    assert refused.value.exit_code == 3
    # The API server's own words: failurePolicy Fail, and nobody listening on the webhook's URL.
    assert 'failed calling webhook "inferenceservice.kserve-webhook-server.defaulter"' in message
    assert f"dial tcp 127.0.0.1:{kserve.webhook_port}: connect: connection refused" in message
    cluster.apply(service)  # the same object, once KServe is back
    assert ready(cluster.wait_ready(namespace, service["metadata"]["name"], timeout=90, poll=0.3))


def test_the_api_server_killed_mid_rollout_then_back_the_rollout_completes(
        control_plane: ControlPlane, namespace: str, quickstart: Path) -> None:  # fmt: skip
    cluster = Cluster.connect(kubeconfig=str(control_plane.kubeconfig))
    cluster.retries = 1
    service = without_model_name(mlpipex_service(quickstart, namespace))
    name = service["metadata"]["name"]
    cluster.apply(service)
    control_plane.kill("kube-apiserver")
    try:
        with pytest.raises(ExternalError) as unreachable:
            cluster.wait_ready(namespace, name, timeout=30, poll=0.3)
    finally:
        control_plane.restart("kube-apiserver")
    assert unreachable.value.exit_code == 3
    assert str(unreachable.value).startswith(
        f"cannot reach the Kubernetes API server of the current kubeconfig context at {control_plane.server} "
        f"(reading {namespace}/{name})")  # fmt: skip
    # etcd kept everything; KServe's controller, the scheduler and KWOK reconnect by themselves.
    assert ready(cluster.wait_ready(namespace, name, timeout=90, poll=0.3))
