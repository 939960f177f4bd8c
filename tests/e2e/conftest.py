"""The e2e loop's world: the App (in-process) with the fake GitHub API and the real control plane
with KServe v0.20.0's controller (``live_world``, on the session fixtures of tests/cluster)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from app.handlers.conftest import World
from cluster.conftest import control_plane, kserve  # noqa: F401  (one control plane per session)
from cluster.controlplane import ControlPlane

from .live import LiveCluster

CONTEXT = "mlpipex-admin"  # the control plane's admin kubeconfig context (tests/cluster/controlplane.py)


def live_repo_config(quickstart: Path, staging: str, production: str) -> str:
    """The model repository's mlpipex.yaml on GitHub: Standard mode with modelcar storage (what KServe
    v0.20.0 loads), staging deployed on merge, production promoted into from staging."""
    data = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    data["deploy"] = {"mode": "Standard", "storage": "modelcar", "cpu": "1", "memory": "2Gi", "environments": [
        {"name": "staging", "context": CONTEXT, "namespace": staging, "auto_deploy": True},
        {"name": "production", "context": CONTEXT, "namespace": production, "rules": {"after": "staging"}},
    ]}  # fmt: skip
    data["chatops"] = {"permissions": {"promote": "maintain"}, "require_green_gates": False}
    data["retraining"] = {"labels": ["retraining", "ml"]}
    return yaml.safe_dump(data, sort_keys=False)


class LiveWorld(World):
    """The handler tests' World, its cluster the real control plane: what it serves is read from the API server."""

    def __init__(self, github: Any, client: Any, plane: ControlPlane, namespaces: dict[str, str]) -> None:
        super().__init__(github, None, client)  # type: ignore[arg-type]  # no fake Kubernetes API
        self.plane, self.namespaces = plane, namespaces
        self.api = plane.api_client()

    def live(self, namespace: str) -> LiveCluster:
        return LiveCluster(self.api, namespace)

    def serving(self, namespace: str) -> tuple[str | None, int]:
        from mlpipex.kserve.rollout import state_of

        state = state_of(self.live(namespace).inference_service())
        return state.artifact, state.traffic


@pytest.fixture
def live_world(quickstart: Path, tmp_path: Path, control_plane: ControlPlane, kserve: object) -> Iterator[LiveWorld]:  # noqa: F811
    from cluster.app_world import app_on_cluster
    from cluster.objects import create_namespace
    from kubernetes import client as kube
    # Short names: KServe puts {isvc}-{predictor}-predictor-{namespace} into one 63-character DNS label.
    suffix = uuid.uuid4().hex[:6]
    namespaces = {"staging": f"e2e-stg-{suffix}", "production": f"e2e-prod-{suffix}"}
    api = control_plane.api_client()
    for name in namespaces.values():
        create_namespace(api, name)
    try:
        config = live_repo_config(quickstart, namespaces["staging"], namespaces["production"])
        with app_on_cluster(control_plane, config, tmp_path / "app.db") as (github, test_client):
            yield LiveWorld(github, test_client, control_plane, namespaces)
    finally:
        for name in namespaces.values():
            kube.CoreV1Api(api).delete_namespace(name)
