"""A full promotion never hands all traffic to a canary sized for less (deploy.traffic, Standard mode,
KServe v0.20.0's own controller, the real kube-scheduler, KWOK's kubelets).

KServe gives a canary ceil(stable minReplicas × share) fixed replicas, and the zero-restart promotion
drops the entry only after the route sent it everything. mlpipex scales the canary to the stable's
minimum first. Each test gets its own KWOK node, tainted for it alone, whose pod capacity is the limit
where a test needs one: set to the pods it runs, it leaves the scaled canary no room.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from mlpipex.config import Config, load_config
from mlpipex.kserve import weights_of
from mlpipex.kserve.cluster import NotReady

from .controlplane import KWOK_ANNOTATION, ControlPlane
from .objects import wait_for
from .test_canary_route import route_of, svc, traffic
from .test_rollout_flow import A, B, flow

pytestmark = pytest.mark.timeout(300)

TAINT = {"key": "mlpipex.test/prescale", "value": "only", "effect": "NoSchedule"}


@pytest.fixture
def node(control_plane: ControlPlane) -> Iterator[Callable[[int], str]]:
    """A KWOK node for this test only (its label is what the model selects), holding ``pods`` pods."""
    core = client.CoreV1Api(control_plane.api_client())
    made: list[str] = []

    def make(pods: int) -> str:
        name = f"kwok-prescale-{uuid.uuid4().hex[:6]}"
        core.create_node({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1]},
                         "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "mlpipex.test/pool": name}},
            "spec": {"taints": [TAINT]},
            "status": {"capacity": {"cpu": "16", "memory": "64Gi", "pods": str(pods)},
                       "allocatable": {"cpu": "16", "memory": "64Gi", "pods": str(pods)}},
        })  # fmt: skip
        made.append(name)

        def node_ready() -> bool:
            conditions = core.read_node(name).status.conditions or []
            return any(c.type == "Ready" and c.status == "True" for c in conditions)

        wait_for(node_ready, 60, f"KWOK to make node {name} Ready")
        return name

    yield make
    for name in made:
        core.delete_node(name)


def full(control_plane: ControlPlane, name: str) -> None:
    """``name`` holds no pod more than it runs now (its pod capacity, as the scheduler reads it)."""
    core = client.CoreV1Api(control_plane.api_client())
    running = len(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items)
    core.patch_node_status(name, {"status": {"capacity": {"pods": str(running)}, "allocatable": {"pods": str(running)}}})
    wait_for(lambda: core.read_node(name).status.allocatable["pods"] == str(running), 30, f"node {name} full")


def configured(quickstart: Path, namespace: str, pool: str, on_not_ready: str = "hold") -> Config:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {"mode": "Standard", "environment_tags": False, "cpu": "100m", "memory": "128Mi",
                      "node_selector": {"mlpipex.test/pool": pool},
                      "tolerations": [{"key": TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
                      "replicas": {"min": 2, "max": 4}, "on_not_ready": on_not_ready,
                      "environments": [{"name": "production", "namespace": namespace, "canary": {"steps": [50, 100]},
                                        "traffic": traffic()}]}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def serving_pods(control_plane: ControlPlane, namespace: str, component: str) -> int:
    pods = client.CoreV1Api(control_plane.api_client()).list_namespaced_pod(
        namespace, label_selector=f"app=isvc.{component}").items
    return sum(1 for p in pods if p.metadata.deletion_timestamp is None
               and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []))  # fmt: skip


class Recorder:
    """Polls the route, then the canary's Ready pods and its Deployment, and keeps each sample in order.

    The route is read first in each sample: a route already at 100% is seen before the pods are
    counted, so a count read after it cannot be one from before the route moved."""

    def __init__(self, control_plane: ControlPlane, namespace: str, component: str) -> None:
        self.control_plane, self.namespace, self.component = control_plane, namespace, component
        self.samples: list[tuple[list[tuple[str, int]], int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        apps = client.AppsV1Api(self.control_plane.api_client())
        while not self.stop.is_set():
            weights = weights_of(route_of(self.control_plane, self.namespace) or {"spec": {"rules": []}})
            ready = serving_pods(self.control_plane, self.namespace, self.component)
            try:
                available = apps.read_namespaced_deployment_status(self.component, self.namespace).status.available_replicas
            except client.ApiException:
                available = None
            self.samples.append((weights, ready, int(available or 0)))
            time.sleep(0.02)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_promotion_to_100_scales_the_canary_to_the_stables_minimum_before_the_route_moves(
        control_plane: ControlPlane, namespace: str, quickstart: Path, node: Callable[[int], str]) -> None:  # fmt: skip
    config = configured(quickstart, namespace, node(10))
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)
    assert rollouts.deploy(config, env, A, by="octocat").ok
    half = rollouts.deploy(config, env, B, by="octocat")
    assert half.ok and half.event.traffic == 50, half.event.message
    # KServe's canaryReplicaCount: ceil(2 × 50%) = 1 replica for half of the traffic.
    wait_for(lambda: serving_pods(control_plane, namespace, svc(B)) == 1, 60, "the 50% canary's one replica")
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 50), (svc(B), 50)]

    with Recorder(control_plane, namespace, svc(B)) as recorder:
        full = rollouts.promote(config, env, by="octocat")
        assert full.ok and full.event.traffic == 100, full.event.message

    moved = next(i for i, (weights, _, _) in enumerate(recorder.samples) if weights == [(svc(B), 100)])
    before = recorder.samples[:moved]
    # Both replicas served before the route gave the canary everything, while it still had 50%...
    assert recorder.samples[moved][1] >= 2, recorder.samples[max(0, moved - 5):moved + 1]
    assert any(ready >= 2 and weights == [(svc(A), 50), (svc(B), 50)] for weights, ready, _ in before), before[-5:]
    # ... and KServe's Deployment reported them available (its status follows the pods by a moment).
    assert any(available >= 2 for _, _, available in recorder.samples), recorder.samples[-5:]
    obj = rollouts.status(config, env).obj
    assert obj is not None and "canary" not in obj["spec"] and obj["spec"]["predictor"]["minReplicas"] == 2
    # The step says so.
    assert "scaled canary rev-bbbbbbbbbb to 2 replicas (the stable's minReplicas) before moving traffic" in \
        full.event.message, full.event.message  # fmt: skip


@pytest.mark.parametrize("on_not_ready", ["hold", "rollback"])
def test_a_canary_the_scheduler_cannot_scale_fails_the_promotion_before_any_traffic_moves(
        control_plane: ControlPlane, namespace: str, quickstart: Path, node: Callable[[int], str],
        on_not_ready: str) -> None:  # fmt: skip
    pool = node(10)
    config = configured(quickstart, namespace, pool, on_not_ready)
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)
    assert rollouts.deploy(config, env, A, by="octocat").ok
    assert rollouts.deploy(config, env, B, by="octocat").ok
    wait_for(lambda: serving_pods(control_plane, namespace, svc(B)) == 1, 60, "the 50% canary's one replica")
    full(control_plane, pool)  # the stable's and the canary's pods fill the node: the scaled canary has no room
    rollouts.timeout = 20  # how long the scaled canary may wait for a place
    before = rollouts.status(config, env).obj
    assert before is not None

    refused = rollouts.promote(config, env, by="octocat")
    assert not refused.ok and isinstance(refused.error, NotReady), refused.event.message
    message = str(refused.error)
    # The real scheduler's words for the replica it could not place, and that nothing moved.
    assert "cannot be scheduled" in message and "Too many pods" in message, message
    assert "only 1 of the 2 replicas" in message and "no traffic moved" in message, message
    assert weights_of(route_of(control_plane, namespace)) == [(svc(A), 50), (svc(B), 50)]
    after = rollouts.status(config, env).obj
    assert after is not None and after["metadata"]["annotations"]["mlpipex.dev/traffic"] == "50"
    assert [c["trafficPercent"] for c in after["spec"]["canary"]] == [50]
    if on_not_ready == "rollback":  # the object as it was: the canary back to KServe's own count
        assert "minReplicas" not in after["spec"]["canary"][0]["predictor"], after["spec"]["canary"]
        assert "rolled back (deploy.on_not_ready: rollback)" in message, message
    else:
        assert after["spec"]["canary"][0]["predictor"]["minReplicas"] == 2  # held: left as the step left it
