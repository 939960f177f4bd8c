"""The e2e loop's world: the App (in-process) with the fake GitHub API and the real control plane
with KServe v0.20.0's controller (``live_world``, on the session fixtures of tests/cluster)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from app.handlers.conftest import OUR_APP_ID, REPO, SECRET, World
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
    from cluster.objects import create_namespace
    from fastapi.testclient import TestClient
    from github import Auth, Github
    from kubernetes import client as kube
    from providers.fake_github import SPEC_PATH
    from providers.fake_github_app import FakeGitHubApp

    from mlpipex.app import create_app
    from mlpipex.app.settings import Settings

    if not SPEC_PATH.exists():
        pytest.skip("npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
    # Short names: KServe puts {isvc}-{predictor}-predictor-{namespace} into one 63-character DNS label.
    suffix = uuid.uuid4().hex[:6]
    namespaces = {"staging": f"e2e-stg-{suffix}", "production": f"e2e-prod-{suffix}"}
    api = control_plane.api_client()
    for name in namespaces.values():
        create_namespace(api, name)
    try:
        with FakeGitHubApp(REPO) as github:
            github.commit("main", {"mlpipex.yaml": live_repo_config(quickstart, namespaces["staging"], namespaces["production"])})
            # The App waits for KServe's Ready as in a cluster: the controller and KWOK take seconds, not the fake's instant.
            settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path / 'app.db'}", worker_threads=0,
                                app_id=OUR_APP_ID, kubeconfig=control_plane.kubeconfig, rollout_timeout=90,
                                alert_token="alert-token")  # fmt: skip
            client = Github(auth=Auth.Token("ghs_installation"), base_url=github.url, retry=None,
                            seconds_between_requests=0, seconds_between_writes=0)  # fmt: skip
            app = create_app(settings, github_for=lambda installation_id: client)
            with TestClient(app) as test_client:
                yield LiveWorld(github, test_client, control_plane, namespaces)
    finally:
        for name in namespaces.values():
            kube.CoreV1Api(api).delete_namespace(name)
