"""mlpipex's rollout flow (mlpipex.rollouts: what `mlpipex deploy|promote|rollback|status` and the
App's handlers all call) against the real API server and KServe v0.20.0's own controller.

What the real KServe v0.20.0 does, and what mlpipex therefore does there: a first rollout and a
full cutover become Ready through KServe's Deployments; a Standard-mode canary is refused before
anything is sent, because v0.20.0 creates the canary's Deployment but splits no traffic (the
HTTPRoute weighting is on master only); a rollback goes back to the earlier model at 100%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from mlpipex.config import Config, load_config
from mlpipex.errors import InputError
from mlpipex.kserve.manifests import predictor_name
from mlpipex.rollouts import Rollouts

from .controlplane import ControlPlane
from .objects import GPU_TOLERATION, wait_for

pytestmark = pytest.mark.timeout(300)

A = "registry.invalid/acme/models/bc@sha256:" + "a" * 64
B = "registry.invalid/acme/models/bc@sha256:" + "b" * 64


class ModelcarLocator:
    """Where KServe loads each model from: the artifact's own reference as a modelcar URI.

    No registry runs in these tests (KWOK's pods pull nothing); the registry path of the
    locator is tested against the real registry in tests/oci/test_kserve_loading.py."""

    def uri(self, config: Config, artifact: str) -> str:
        return f"oci://{artifact}"


def configured(quickstart: Path, namespace: str, **environment: Any) -> Config:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    # environment_tags off: the digests are made up (registry.invalid); the tags' tests use a real registry (tests/oci)
    data["deploy"] = {"mode": "Standard", "environment_tags": False, "gpu": {"count": 1}, "cpu": "1", "memory": "2Gi",
                      "node_selector": {"mlpipex.test/pool": "gpu"}, "tolerations": [GPU_TOLERATION],
                      "replicas": {"min": 1, "max": 2},
                      "environments": [{"name": "production", "namespace": namespace, **environment}]}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def flow(control_plane: ControlPlane) -> Rollouts:
    return Rollouts(kubeconfig=str(control_plane.kubeconfig), timeout=90, storage=ModelcarLocator())


def deployments(control_plane: ControlPlane, namespace: str) -> set[str]:
    return {d.metadata.name for d in client.AppsV1Api(control_plane.api_client()).list_namespaced_deployment(namespace).items}


def test_first_rollout_cutover_and_rollback_on_kserve_v0_20_0(control_plane: ControlPlane, namespace: str,
                                                               quickstart: Path) -> None:  # fmt: skip
    config = configured(quickstart, namespace)  # no canary steps: every deploy is a full cutover
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)

    first = rollouts.deploy(config, env, A, by="octocat")
    assert first.error is None and first.ok, first.event.message
    assert first.event.traffic == 100 and first.to_digest == A
    # KServe's controller made the named predictor's Deployment, and the real scheduler placed its pod.
    wait_for(lambda: f"breast-cancer-{predictor_name(A)}-predictor" in deployments(control_plane, namespace), 60,
             "KServe's Deployment for model A")  # fmt: skip
    status = rollouts.status(config, env)
    assert status.ready and status.state.artifact == A and status.state.stable == A

    second = rollouts.deploy(config, env, B, by="octocat")
    assert second.error is None and second.ok, second.event.message
    assert (second.from_digest, second.to_digest, second.event.traffic) == (A, B, 100)
    obj = rollouts.status(config, env).obj
    assert obj is not None and obj["spec"]["predictor"]["name"] == predictor_name(B)
    assert obj["spec"]["predictor"]["model"]["storageUri"] == f"oci://{B}"
    wait_for(lambda: f"breast-cancer-{predictor_name(B)}-predictor" in deployments(control_plane, namespace), 60,
             "KServe's Deployment for model B")  # fmt: skip

    back = rollouts.rollback(config, env, by="octocat")
    assert back.error is None and back.ok, back.event.message
    assert (back.from_digest, back.to_digest, back.event.traffic) == (B, A, 100)
    assert rollouts.status(config, env).state.history[-1]["action"] == "rollback"


def test_a_standard_canary_is_refused_on_kserve_v0_20_0_before_anything_is_sent(control_plane: ControlPlane,
                                                                               namespace: str, quickstart: Path) -> None:  # fmt: skip
    config = configured(quickstart, namespace, canary={"steps": [10, 50, 100]})
    env = config.deploy.environments[0]
    rollouts = flow(control_plane)
    assert rollouts.deploy(config, env, A, by="octocat").ok  # a first rollout is always 100%
    before = rollouts.status(config, env).obj
    assert before is not None

    canary = rollouts.deploy(config, env, B, by="octocat")
    assert not canary.ok and isinstance(canary.error, InputError)
    message = str(canary.error)
    # What mlpipex read off the real install (the controller's image / the CRD), and the way out.
    assert "v0.20.0" in message and "Knative" in message, message
    after = rollouts.status(config, env).obj
    assert after is not None
    assert after["metadata"]["generation"] == before["metadata"]["generation"]  # nothing was applied
    assert "canary" not in after["spec"]
