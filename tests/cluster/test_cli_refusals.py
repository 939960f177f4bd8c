"""What the CLI says when a rollout cannot happen, from the real control plane's own answers (issue 16):
a Standard-mode canary on KServe v0.20.0 (`deploy` and `canary run`), a model no node can place
(the real scheduler's reason, quoted), and an object KServe's real webhook refuses.

Every command is a real `python -m mlpipex` process with the control plane's kubeconfig.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from mlpipex.config import load_config
from mlpipex.kserve import Rollout
from mlpipex.kserve.cluster import Cluster
from mlpipex.kserve.manifests import predictor_name, with_storage_uris
from mlpipex.kserve.rollout import plan_deploy
from mlpipex.rollouts import RegistryLocator

from .controlplane import ControlPlane
from .objects import GPU_TOLERATION, GROUP, PLURAL, VERSION
from .packages import Shipped, mlpipex

pytestmark = pytest.mark.timeout(420)

NAME = "breast-cancer"
CLI = ("--provider", "local")


def isvc(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    obj: dict[str, Any] = client.CustomObjectsApi(plane.api_client()).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, NAME)  # fmt: skip
    return obj


def test_a_standard_canary_is_refused_by_deploy_and_canary_run_on_v0_20_0(control_plane: ControlPlane, shipped: Shipped,
                                                                         namespace: str, tmp_path: Path) -> None:  # fmt: skip
    path = shipped.configure([{"name": "production", "namespace": namespace, "canary": {"steps": [10, 50, 100]}}])
    kubeconfig = control_plane.kubeconfig
    first = mlpipex(shipped.project, "deploy", "--artifact", shipped.a, "--timeout", "90", *CLI, kubeconfig=kubeconfig)
    assert first.code == 0, first.said  # a first rollout is always 100%: no split needed
    before = isvc(control_plane, namespace)["metadata"]["generation"]

    canary = mlpipex(shipped.project, "deploy", "--artifact", shipped.b, *CLI, kubeconfig=kubeconfig)
    assert canary.code == 2, canary.said
    # What mlpipex read off the real install (the controller's image), and the way out.
    assert "a 10% Standard-mode canary would get no traffic: KServe v0.20.0 creates the canary's Deployment" in canary.err
    assert "use mode: Knative for this environment" in canary.err, canary.err
    assert isvc(control_plane, namespace)["metadata"]["generation"] == before  # nothing was applied

    # A canary someone started by hand (kubectl, an older mlpipex): `canary run` judges it, and the
    # step it would take (advance to 50%) is refused the same way, before anything is sent.
    config = load_config(path)
    env = config.deploy.environments[0]
    cluster = Cluster.connect(kubeconfig=str(kubeconfig))
    planned = plan_deploy(config, env, cluster.get(namespace, NAME), Rollout(shipped.b))
    locator = RegistryLocator()
    cluster.apply(with_storage_uris(planned, lambda artifact: locator.uri(config, artifact)))
    by_hand = isvc(control_plane, namespace)
    assert by_hand["spec"]["canary"][0]["trafficPercent"] == 10
    samples = tmp_path / "samples.json"
    same = [0.010 + 0.001 * (i % 7) for i in range(60)]
    samples.write_text(json.dumps({side: {"latency_p95": same, "error_rate": [0.0] * 60} for side in ("canary", "stable")}))
    judged = mlpipex(shipped.project, "canary", "run", "--once", "--metrics-file", str(samples), *CLI, kubeconfig=kubeconfig)
    assert judged.code == 2, judged.said
    assert "a 50% Standard-mode canary would get no traffic: KServe v0.20.0" in judged.err, judged.err
    assert "use mode: Knative" in judged.err
    after = isvc(control_plane, namespace)
    assert after["metadata"]["generation"] == by_hand["metadata"]["generation"]
    assert after["spec"]["canary"][0]["trafficPercent"] == 10


def test_a_model_no_node_can_place_quotes_the_scheduler_and_holds(control_plane: ControlPlane, shipped: Shipped,
                                                                  namespace: str) -> None:  # fmt: skip
    environments = [{"name": "production", "namespace": namespace}]
    shipped.configure(environments)
    kubeconfig, project = control_plane.kubeconfig, shipped.project
    assert mlpipex(project, "deploy", "--artifact", shipped.a, "--timeout", "90", *CLI, kubeconfig=kubeconfig).code == 0

    # No toleration for the GPU pool's taint.
    shipped.configure(environments, tolerations=[])
    untolerated = mlpipex(project, "deploy", "--artifact", shipped.b, "--timeout", "8", *CLI, kubeconfig=kubeconfig)
    assert untolerated.code == 3, untolerated.said
    assert f"{namespace}/{NAME} is not Ready after 8 s" in untolerated.err
    assert "PredictorReady is False (MinimumReplicasUnavailable" in untolerated.err  # KServe's own condition
    assert "cannot be scheduled: 0/3 nodes are available" in untolerated.err  # the real scheduler's words
    assert "1 node(s) had untolerated taint(s)" in untolerated.err, untolerated.err
    assert "deploy.tolerations" in untolerated.err and "`mlpipex rollback`" in untolerated.err

    # More GPUs than any node has (kwok-gpu-0 has 2).
    shipped.configure(environments, gpu={"count": 4}, tolerations=[GPU_TOLERATION])
    too_big = mlpipex(project, "deploy", "--artifact", shipped.b, "--timeout", "8", *CLI, kubeconfig=kubeconfig)
    assert too_big.code == 3, too_big.said
    assert "Insufficient nvidia.com/gpu" in too_big.err and "deploy.gpu" in too_big.err, too_big.err

    # mlpipex holds (deploy.on_not_ready's default): B stays applied, not Ready, and says so.
    held = isvc(control_plane, namespace)
    assert held["spec"]["predictor"]["name"] == predictor_name(shipped.b)
    status = mlpipex(project, "status", *CLI, kubeconfig=kubeconfig)
    assert status.code == 0 and f"production: {namespace}/{NAME} — NOT Ready" in status.out, status.said

    # The way out it named: the config fixed, `mlpipex rollback` returns to A, Ready.
    shipped.configure(environments)
    back = mlpipex(project, "rollback", "--timeout", "90", *CLI, kubeconfig=kubeconfig)
    assert back.code == 0, back.said
    assert f"production: {NAME} serves {shipped.a} at 100%" in back.out
    assert isvc(control_plane, namespace)["spec"]["predictor"]["name"] == predictor_name(shipped.a)


def test_on_not_ready_rollback_puts_the_model_that_served_back_at_once(control_plane: ControlPlane, shipped: Shipped,
                                                                       namespace: str) -> None:  # fmt: skip
    environments = [{"name": "production", "namespace": namespace}]
    shipped.configure(environments, on_not_ready="rollback")
    kubeconfig, project = control_plane.kubeconfig, shipped.project
    assert mlpipex(project, "deploy", "--artifact", shipped.a, "--timeout", "90", *CLI, kubeconfig=kubeconfig).code == 0

    # B cannot be placed (no toleration for the GPU taint): the step fails, and A is put back by itself.
    shipped.configure(environments, tolerations=[], on_not_ready="rollback")
    failed = mlpipex(project, "deploy", "--artifact", shipped.b, "--timeout", "8", *CLI, kubeconfig=kubeconfig)
    assert failed.code == 3, failed.said
    assert "1 node(s) had untolerated taint(s)" in failed.err, failed.err  # why, in the scheduler's words
    assert "rolled back (deploy.on_not_ready: rollback)" in failed.err, failed.err
    obj = isvc(control_plane, namespace)
    assert obj["spec"]["predictor"]["name"] == predictor_name(shipped.a)
    assert json.loads(obj["metadata"]["annotations"]["mlpipex.dev/history"])[-1]["action"] == "rollback"
    status = mlpipex(project, "status", *CLI, kubeconfig=kubeconfig)
    assert status.code == 0 and f"production: {namespace}/{NAME} — Ready" in status.out, status.said


def test_an_object_kserves_webhook_refuses_is_exit_2_with_kserves_message(control_plane: ControlPlane, shipped: Shipped,
                                                                         namespace: str) -> None:  # fmt: skip
    # An InferenceService name must start with a letter (KServe's validating webhook; the API server's
    # own DNS-1123 check and mlpipex's CRD check both admit a leading digit).
    shipped.configure([{"name": "production", "namespace": namespace}], name="9lives")
    refused = mlpipex(shipped.project, "deploy", "--artifact", shipped.a, "--timeout", "20", *CLI,
                      kubeconfig=control_plane.kubeconfig)  # fmt: skip
    assert refused.code == 2, refused.said
    assert "KServe refused the InferenceService" in refused.err
    assert 'admission webhook "inferenceservice.kserve-webhook-server.validator" denied the request' in refused.err
    assert "must start with alphabetical character" in refused.err, refused.err
    assert "change the deploy section of mlpipex.yaml" in refused.err
    found = client.CustomObjectsApi(control_plane.api_client()).list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert found["items"] == []  # nothing was stored
