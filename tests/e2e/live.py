"""What the real cluster routes to, read from the live objects KServe's controller made.

Nothing here reads the InferenceService's spec to decide where a request goes: a request
goes to a Service (the one ``status.address.url`` names, or, when mlpipex's Gateway API
HTTPRoute ``{isvc}`` exists, its backends by weight, as a Gateway would), and a Service
to the Running pods its selector matches. A pod says which model it serves through the
modelcar container KServe's pod webhook injected (its image is the storageUri), and how
it logs through the injected ``agent`` container's flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from kubernetes import client
from kubernetes.client.rest import ApiException

HTTPROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")
ISVC = ("serving.kserve.io", "v1beta1", "inferenceservices")


@dataclass(frozen=True)
class Backend:
    """One Service traffic goes to, and its share in percent."""

    service: str
    weight: int


@dataclass(frozen=True)
class Pod:
    """A Running predictor pod: what it serves and how KServe's agent in it logs."""

    name: str
    deployment: str  # the predictor Deployment the pod's ReplicaSet belongs to
    node: str  # where the scheduler placed it (a KWOK node)
    modelcar: str  # the modelcar container's image: REGISTRY/REPO@sha256:<image digest>
    logger: dict[str, str]  # the agent's --flags (log-url, inference-service, namespace, endpoint, component...)


def _flags(args: list[str]) -> dict[str, str]:
    return {args[i].removeprefix("--"): args[i + 1] for i in range(0, len(args) - 1, 2) if args[i].startswith("--")}


class LiveCluster:
    """Reads of one namespace of the control plane, as the data path would see it."""

    def __init__(self, api: Any, namespace: str, service: str = "breast-cancer") -> None:
        self.api, self.namespace, self.service = api, namespace, service
        self.core, self.apps, self.custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)

    def inference_service(self) -> dict[str, Any] | None:
        try:
            return self.custom.get_namespaced_custom_object(*ISVC[:2], self.namespace, ISVC[2], self.service)  # type: ignore[no-any-return]
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def route(self) -> dict[str, Any] | None:
        """mlpipex's HTTPRoute for the service; None when there is none (or no Gateway API CRDs)."""
        try:
            return self.custom.get_namespaced_custom_object(*HTTPROUTE[:2], self.namespace, HTTPROUTE[2], self.service)  # type: ignore[no-any-return]
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def backends(self) -> list[Backend]:
        """Where the cluster sends the service's traffic now."""
        route = self.route()
        if route is not None:
            refs = route["spec"]["rules"][0]["backendRefs"]
            return [Backend(ref["name"], int(ref.get("weight", 1))) for ref in refs if int(ref.get("weight", 1)) > 0]
        obj = self.inference_service()
        url = ((obj or {}).get("status") or {}).get("address", {}).get("url")
        if not url:
            return []
        host = urlparse(url).hostname or ""
        return [Backend(host.split(".", 1)[0], 100)]  # {service}.{namespace}.svc.cluster.local

    def pods_of(self, service: str) -> list[Pod]:
        """The Running, not terminating pods the Service's selector matches, newest first."""
        selector = self.core.read_namespaced_service(service, self.namespace).spec.selector or {}
        found = self.core.list_namespaced_pod(self.namespace, label_selector=",".join(f"{k}={v}" for k, v in selector.items()))
        pods = [p for p in found.items if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
        out = []
        for pod in sorted(pods, key=lambda p: p.metadata.creation_timestamp, reverse=True):
            containers = {c.name: c for c in pod.spec.containers}
            if "modelcar" not in containers:
                continue
            owner = next((o.name for o in pod.metadata.owner_references or [] if o.kind == "ReplicaSet"), pod.metadata.name)
            deployment = owner.rsplit("-", 1)[0]  # {deployment}-{pod-template-hash}
            agent = containers.get("agent")
            out.append(Pod(pod.metadata.name, deployment, pod.spec.node_name or "", containers["modelcar"].image, _flags(agent.args or []) if agent else {}))
        return out

    def predictor_deployments(self) -> dict[str, dict[str, Any]]:
        """The predictor Deployments KServe made for the service: name -> the pod template's annotations."""
        found = self.apps.list_namespaced_deployment(self.namespace, label_selector=f"serving.kserve.io/inferenceservice={self.service}")
        return {d.metadata.name: dict(d.spec.template.metadata.annotations or {}) for d in found.items}
