"""The App's merge-to-deploy and ChatOps paths against the real API server and KServe's controller (issue 16 item 2).

The App is the one from tests/app/handlers (its World): signed webhooks into its real endpoint,
its real worker running the handlers, GitHub played by the fake validated against GitHub's
OpenAPI description. Only the cluster changed: ``settings.kubeconfig`` is the real control
plane's, and the packages are real ones in a real registry, so the App locates their modelcar
images as it does in production. Asserted: what is in etcd is what the command said, KServe
reconciles it (its Deployment, a pod on the GPU node), the PR comment and the GitHub
Deployment report it; a refused command changes nothing (generation unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("fastapi", reason="the App's tests need the app extra (pip install -e '.[test]')")

from app.handlers.conftest import World
from fastapi.testclient import TestClient
from kubernetes import client
from providers.fake_github_app import FakeGitHubApp

from mlpipex.kserve.manifests import predictor_name
from mlpipex.kserve.rollout import state_of

from .app_world import app_on_cluster
from .controlplane import ControlPlane
from .objects import GROUP, PLURAL, VERSION, wait_for
from .packages import GPU_DEPLOY, REPOSITORY, Shipped

pytestmark = pytest.mark.timeout(420)

NAME = "breast-cancer"


class RealWorld(World):
    """The handlers' World, its cluster the real control plane."""

    def __init__(self, github: FakeGitHubApp, plane: ControlPlane, test_client: TestClient) -> None:
        self.plane = plane
        super().__init__(github, None, test_client)  # type: ignore[arg-type]

    def isvc(self, namespace: str) -> dict[str, Any] | None:
        from kubernetes.client.rest import ApiException

        try:
            obj: dict[str, Any] = client.CustomObjectsApi(self.plane.api_client()).get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, NAME)  # fmt: skip
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return obj

    def serving(self, namespace: str) -> tuple[str | None, int]:
        state = state_of(self.isvc(namespace))
        return state.artifact, state.traffic

    def reconciled(self, namespace: str, artifact: str) -> bool:
        """KServe made the predictor's Deployment and the scheduler ran its pod on the GPU node."""
        pods = client.CoreV1Api(self.plane.api_client()).list_namespaced_pod(
            namespace, label_selector=f"serving.kserve.io/inferenceservice={NAME}").items  # fmt: skip
        prefix = f"{NAME}-{predictor_name(artifact)}-predictor-"
        return any(p.metadata.name.startswith(prefix) and p.spec.node_name == "kwok-gpu-0" and p.status.phase == "Running"
                   for p in pods)  # fmt: skip


def repo_config(shipped: Shipped, staging: str, production: str) -> str:
    data = yaml.safe_load((shipped.project / "mlpipex.yaml").read_text())
    data["package"] = {**data.get("package", {}), "registry": shipped.registry, "repository": REPOSITORY}
    data["deploy"] = {**GPU_DEPLOY, "environments": [
        {"name": "staging", "namespace": staging, "auto_deploy": True},
        {"name": "production", "namespace": production, "rules": {"after": "staging"}},
    ]}  # fmt: skip
    data["chatops"] = {"permissions": {"promote": "maintain"}, "require_green_gates": False}
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def real_world(control_plane: ControlPlane, shipped: Shipped, more_namespaces: Any,
               tmp_path: Path) -> Iterator[tuple[RealWorld, str, str]]:  # fmt: skip
    staging, production = more_namespaces(), more_namespaces()
    with app_on_cluster(control_plane, repo_config(shipped, staging, production), tmp_path / "app.db") as (github, test_client):
        yield RealWorld(github, control_plane, test_client), staging, production


def test_merge_deploys_and_chatops_promote_rollback_status_on_the_real_cluster(real_world, shipped: Shipped) -> None:
    world, staging, production = real_world
    gh = world.github
    a, b = shipped.a, shipped.b

    # Merge → staging: the object in etcd is A at 100%, KServe reconciles it, the PR and GitHub say so.
    world.ship(5, a)
    assert world.serving(staging) == (a, 100), [j.last_error for j in world.store.jobs.list()]
    wait_for(lambda: world.reconciled(staging, a), 60, "A's predictor pod in staging")
    assert "🚀" in world.last_reply(5) and "staging" in world.last_reply(5)
    [deployment] = gh.deployments
    assert deployment["environment"] == "staging" and deployment["statuses"][0]["state"] == "success"

    # /promote production by a maintainer: staging's model into production's namespace.
    world.comment(5, "lead", "/promote production")
    assert world.serving(production) == (a, 100), world.last_reply(5)
    wait_for(lambda: world.reconciled(production, a), 60, "A's predictor pod in production")

    # A second model merged to staging, promoted: a full cutover (no canary steps: v0.20.0 splits none).
    world.ship(6, b)
    assert world.serving(staging) == (b, 100)
    world.comment(6, "lead", "/promote production")
    assert world.serving(production) == (b, 100), world.last_reply(6)
    live = world.isvc(production)
    assert live is not None and live["spec"]["predictor"]["name"] == predictor_name(b)
    wait_for(lambda: world.reconciled(production, b), 60, "B's predictor pod in production")

    # A reader's /rollback is refused and changes nothing in the cluster.
    generation = live["metadata"]["generation"]
    refused = world.comment(6, "reader", "/rollback --env production")
    assert gh.reactions[refused["id"]] == ["eyes", "-1"] and "needs `write`" in world.last_reply(6)
    after = world.isvc(production)
    assert after is not None and after["metadata"]["generation"] == generation
    assert world.serving(production) == (b, 100)

    # A writer's /rollback: back to A, reconciled by KServe.
    world.comment(6, "dev", "/rollback --env production")
    assert world.serving(production) == (a, 100), world.last_reply(6)
    back = world.isvc(production)
    assert back is not None and back["spec"]["predictor"]["name"] == predictor_name(a)
    history = state_of(back).history
    assert [h["action"] for h in history] == ["deploy", "deploy", "rollback"]
    assert history[-1]["by"].startswith("dev via job ")

    # /status: what each environment serves, read from the real objects.
    world.comment(6, "reader", "/status")
    status = world.last_reply(6)
    assert f"| production | `{a}" in status and f"| staging | `{b}" in status and "rollback" in status, status
