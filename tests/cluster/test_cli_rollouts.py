"""`mlpipex deploy | promote | rollback | status | canary run` as real processes against the real
API server, scheduler and KServe v0.20.0's controller (issue 16).

Each command is `python -m mlpipex …` with the control plane's kubeconfig, as a user or a CI
job runs it; the packages are real ones in a real registry (tests/cluster/packages.py), so
deploy locates their modelcar images the way it does for a user. What is asserted is what
the user gets: the exit code, what is printed, and what is in etcd and on the nodes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from mlpipex.kserve.manifests import predictor_name

from .controlplane import ControlPlane
from .objects import GROUP, PLURAL, VERSION, wait_for
from .packages import Shipped, mlpipex

pytestmark = pytest.mark.timeout(420)

NAME = "breast-cancer"  # the InferenceService: the quickstart's model.name


def isvc(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    obj: dict[str, Any] = client.CustomObjectsApi(plane.api_client()).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, NAME)  # fmt: skip
    return obj


def predictor_pods(plane: ControlPlane, namespace: str, artifact: str) -> list[Any]:
    pods = client.CoreV1Api(plane.api_client()).list_namespaced_pod(
        namespace, label_selector=f"serving.kserve.io/inferenceservice={NAME}").items  # fmt: skip
    return [p for p in pods if p.metadata.name.startswith(f"{NAME}-{predictor_name(artifact)}-predictor-")]


def placed_on_gpu_node(plane: ControlPlane, namespace: str, artifact: str) -> bool:
    return any(p.spec.node_name == "kwok-gpu-0" and p.status.phase == "Running"
               for p in predictor_pods(plane, namespace, artifact))  # fmt: skip


def test_deploy_cutover_promote_rollback_and_status_as_a_user_runs_them(control_plane: ControlPlane, shipped: Shipped,
                                                                       more_namespaces: Any) -> None:  # fmt: skip
    staging, production = more_namespaces(), more_namespaces()
    shipped.configure([{"name": "staging", "namespace": staging},
                       {"name": "production", "namespace": production, "rules": {"after": "staging"}}])  # fmt: skip
    kubeconfig, project = control_plane.kubeconfig, shipped.project
    cli = ("--timeout", "90", "--provider", "local")

    # A first deploy: Ready through KServe's own Deployment, its pod placed on the GPU pool by the real scheduler.
    first = mlpipex(project, "deploy", "--env", "staging", "--artifact", shipped.a, *cli, kubeconfig=kubeconfig)
    assert first.code == 0, first.said
    assert f"staging: {NAME} serves {shipped.a} at 100%" in first.out
    wait_for(lambda: placed_on_gpu_node(control_plane, staging, shipped.a), 60, "A's predictor pod on kwok-gpu-0")
    applied = isvc(control_plane, staging)
    modelcar = applied["spec"]["predictor"]["model"]["storageUri"]
    assert modelcar.startswith(f"oci://{shipped.target}@sha256:") and modelcar != f"oci://{shipped.a}"  # the image, read from the registry

    status = mlpipex(project, "status", "--env", "staging", *cli, kubeconfig=kubeconfig)
    assert status.code == 0, status.said
    assert f"staging: {staging}/{NAME} — Ready" in status.out
    assert f"serving   {shipped.a} at 100%" in status.out and f"stable    {shipped.a}" in status.out
    assert f"url       http://{NAME}-{staging}.example.com" in status.out  # KServe's default ingress domain
    assert "deploy   100%  " + shipped.a + "  by octocat" in status.out, status.out

    # A second deploy with no canary steps: a full cutover to B's predictor.
    second = mlpipex(project, "deploy", "--env", "staging", "--artifact", shipped.b, *cli, kubeconfig=kubeconfig)
    assert second.code == 0, second.said
    assert f"staging: {NAME} serves {shipped.b} at 100%" in second.out
    assert isvc(control_plane, staging)["spec"]["predictor"]["name"] == predictor_name(shipped.b)
    wait_for(lambda: placed_on_gpu_node(control_plane, staging, shipped.b), 60, "B's predictor pod on kwok-gpu-0")

    # promote: staging's model into production (its own namespace), under production's rules.
    promoted = mlpipex(project, "promote", "--env", "production", *cli, kubeconfig=kubeconfig)
    assert promoted.code == 0, promoted.said
    assert f"production: {NAME} serves {shipped.b} at 100%" in promoted.out
    live = isvc(control_plane, production)
    assert live["metadata"]["annotations"]["mlpipex.dev/artifact"] == shipped.b
    assert live["spec"]["predictor"]["name"] == predictor_name(shipped.b)
    wait_for(lambda: placed_on_gpu_node(control_plane, production, shipped.b), 60, "B's pod in production")

    # rollback: staging returns to A, Ready again through A's Deployment.
    back = mlpipex(project, "rollback", "--env", "staging", *cli, kubeconfig=kubeconfig)
    assert back.code == 0, back.said
    assert f"staging: {NAME} serves {shipped.a} at 100%" in back.out
    assert isvc(control_plane, staging)["spec"]["predictor"]["name"] == predictor_name(shipped.a)

    shown = mlpipex(project, "status", "--env", "staging", "--json", *cli, kubeconfig=kubeconfig)
    assert shown.code == 0, shown.said
    state = json.loads(shown.out)
    assert state["ready"] is True and state["artifact"] == state["stable"] == shipped.a
    assert [(h["action"], h["artifact"]) for h in state["history"]] == [
        ("deploy", shipped.a), ("deploy", shipped.b), ("rollback", shipped.a)]  # fmt: skip
    conditions = {c["type"]: c["status"] for c in state["status"]["conditions"]}
    assert conditions["Ready"] == conditions["PredictorReady"] == "True"  # as KServe's controller set them


def test_status_of_an_environment_with_nothing_deployed(control_plane: ControlPlane, shipped: Shipped, namespace: str) -> None:
    shipped.configure([{"name": "production", "namespace": namespace}])
    shown = mlpipex(shipped.project, "status", "--provider", "local", kubeconfig=control_plane.kubeconfig)
    assert shown.code == 0, shown.said
    assert f"production: {NAME} is not deployed in namespace {namespace}" in shown.out
