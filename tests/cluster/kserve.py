"""KServe v0.20.0's controller manager and webhooks, run against the test control plane.

Everything it is given comes from KServe's own module (config/ in GOMODCACHE): the CRDs,
the `inferenceservice-config` ConfigMap a default install ships (switched to Standard
mode with ingress creation off: there is no Knative and no ingress controller here), the
manager's ClusterRole, the webhook configurations and the ClusterServingRuntimes. The
manager runs outside the cluster with a client certificate bound to KServe's ClusterRole;
the API server calls its webhooks at https://127.0.0.1:PORT with a CA made by the test,
as cert-manager would inject it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from .build import COMPONENTS, Built, module_info
from .controlplane import ControlPlane, ControlPlaneError, free_port

NAMESPACE = "kserve"
USER = "kserve-controller-manager"


def kserve_source() -> Path:
    return module_info(COMPONENTS["kserve-manager"])[1]


def _documents(path: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the ISVC CRD is megabytes: libyaml, not pure Python
    return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader) if d]


def _kustomize_resources(folder: Path) -> list[Path]:
    """The files a kustomization lists, folders followed (KServe's CRD kustomizations have no generators)."""
    (kustomization,) = _documents(folder / "kustomization.yaml")
    files: list[Path] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        files += _kustomize_resources(path) if path.is_dir() else [path]
    return files


def crds(source: Path) -> list[dict[str, Any]]:
    """The CRDs KServe's default install applies (config/crd -> full/): the InferenceService,
    ServingRuntime, ClusterServingRuntime, InferenceGraph, TrainedModel and ClusterStorageContainer.
    LLMInferenceService and LocalModel CRDs belong to other controllers and are not installed.
    (config/crd's JSON patches target apiextensions.k8s.io/v1beta1 and do not apply to these v1 CRDs.)"""
    files = _kustomize_resources(source / "config" / "crd" / "full")
    return [d for f in files for d in _documents(f) if d.get("kind") == "CustomResourceDefinition"]


def standard_mode_configmap(source: Path) -> dict[str, Any]:
    """The shipped inferenceservice-config, with deploy.defaultDeploymentMode Standard and
    ingress.disableIngressCreation true (the two keys KServe reads for that)."""
    (configmap,) = _documents(source / "config" / "configmap" / "inferenceservice.yaml")
    data = configmap["data"]
    deploy = json.loads(data["deploy"])
    deploy["defaultDeploymentMode"] = "Standard"
    ingress = json.loads(data["ingress"])
    ingress["disableIngressCreation"] = True
    data["deploy"], data["ingress"] = json.dumps(deploy, indent=2), json.dumps(ingress, indent=2)
    data.pop("_example", None)
    configmap["metadata"]["namespace"] = NAMESPACE
    return configmap


def webhook_configurations(source: Path, port: int, ca_pem: bytes) -> list[dict[str, Any]]:
    """KServe's webhook configurations, pointed at the manager on loopback (no Service)."""
    import base64

    bundle = base64.b64encode(ca_pem).decode()
    out = []
    for doc in _documents(source / "config" / "webhook" / "manifests.yaml"):
        doc["metadata"].pop("creationTimestamp", None)
        for hook in doc["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": bundle}
        out.append(doc)
    return out


def cluster_serving_runtimes(source: Path) -> list[dict[str, Any]]:
    folder = source / "config" / "runtimes"
    files = sorted(p for p in folder.glob("kserve-*.yaml"))
    return [d for f in files for d in _documents(f) if d.get("kind") == "ClusterServingRuntime"]


def manager_rbac(source: Path) -> list[dict[str, Any]]:
    (role,) = [d for d in _documents(source / "config" / "rbac" / "role.yaml") if d["kind"] == "ClusterRole"]
    (election,) = [d for d in _documents(source / "config" / "rbac" / "leader_election_role.yaml") if d["kind"] == "Role"]
    election["metadata"]["namespace"] = NAMESPACE
    subject = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]
    return [
        role, election,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "kserve-manager-rolebinding"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
         "subjects": subject},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "kserve-leader-election-rolebinding", "namespace": NAMESPACE},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": election["metadata"]["name"]},
         "subjects": subject},
    ]  # fmt: skip


def manager_deployment(source: Path, version: str) -> list[dict[str, Any]]:
    """KServe's own controller Deployment (config/manager) with the release image of ``version``.

    The manager really runs outside the cluster (the process KServeController starts); this
    Deployment, whose pod KWOK "runs", is what a real install shows, so a client that asks the
    cluster which KServe it has (the controller's image tag) gets the answer it would get there."""
    (deployment,) = [d for d in _documents(source / "config" / "manager" / "manager.yaml") if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    container["image"] = f"kserve/kserve-controller:{version}"  # config/default's image patch sets :latest
    (account,) = _documents(source / "config" / "rbac" / "service_account.yaml")
    account["metadata"]["namespace"] = NAMESPACE
    return [account, deployment]


def apply(plane: ControlPlane, objects: list[dict[str, Any]], manager: str = "mlpipex-test-kserve") -> None:
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(plane.api_client())
    for obj in objects:
        resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        namespace = obj["metadata"].get("namespace") if resource.namespaced else None
        resource.server_side_apply(obj, namespace=namespace, field_manager=manager, force_conflicts=True)


def _wait_crds_established(plane: ControlPlane, names: list[str], timeout: float = 60) -> None:
    from kubernetes import client

    api = client.ApiextensionsV1Api(plane.api_client())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [n for n in names if not any(c.type == "Established" and c.status == "True"
                                               for c in (api.read_custom_resource_definition(n).status.conditions or []))]  # fmt: skip
        if not pending:
            return
        time.sleep(0.2)
    raise ControlPlaneError(f"CRDs not Established after {timeout:.0f} s: {pending}")


class KServeController:
    def __init__(self, plane: ControlPlane, manager: Built) -> None:
        self.plane = plane
        self.manager = manager
        self.source = kserve_source()
        self.webhook_port = free_port()
        self.probe_port = free_port()
        self.timings: dict[str, float] = {}

    def start(self) -> KServeController:
        started = time.monotonic()
        plane = self.plane
        apply(plane, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
        definitions = crds(self.source)
        apply(plane, definitions)
        _wait_crds_established(plane, [d["metadata"]["name"] for d in definitions])
        apply(plane, [standard_mode_configmap(self.source), *manager_rbac(self.source)])
        self.timings["install"] = round(time.monotonic() - started, 2)

        # controller-runtime reads its serving cert from $TMPDIR/k8s-webhook-server/serving-certs.
        tmp = plane.dir / "kserve-tmp"
        certs = tmp / "k8s-webhook-server" / "serving-certs"
        certs.mkdir(parents=True)
        pair = plane.ca.issue("kserve-webhook-server", hosts=("127.0.0.1",), server=True)
        (certs / "tls.crt").write_bytes(pair.cert_pem)
        (certs / "tls.key").write_bytes(pair.key_pem)
        kubeconfig = plane.kubeconfig_for(USER, namespace=NAMESPACE)
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), POD_NAMESPACE=NAMESPACE, TMPDIR=str(tmp))
        process = plane._spawn("kserve-manager", [
            str(self.manager.binary("manager")), f"--webhook-port={self.webhook_port}", "--metrics-addr=0",
            f"--health-probe-addr=127.0.0.1:{self.probe_port}", "--leader-elect=false",
        ], env=env)  # fmt: skip
        manager_started = time.monotonic()
        plane._wait(process, lambda: requests.get(f"http://127.0.0.1:{self.probe_port}/readyz", timeout=2).ok, 90,
                    "ready /readyz")  # fmt: skip
        self.timings["manager-ready"] = round(time.monotonic() - manager_started, 2)
        apply(plane, webhook_configurations(self.source, self.webhook_port, plane.ca.cert_pem))
        # Through the ClusterServingRuntime validating webhook just registered: the webhook path works end to end.
        apply(plane, cluster_serving_runtimes(self.source))
        apply(plane, manager_deployment(self.source, self.manager.version))
        self.timings["total"] = round(time.monotonic() - started, 2)
        return self

    def log_tail(self, lines: int = 60) -> str:
        return self.plane.process("kserve-manager").tail(lines)
