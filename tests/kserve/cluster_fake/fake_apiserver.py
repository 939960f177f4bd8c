"""A local stand-in for a Kubernetes API server with KServe installed.

No cluster can run on these machines, so this plays both the API server and
KServe's controller, for InferenceServices only, through the real `kubernetes`
Python client:

- serves the InferenceService CRD (apiextensions.k8s.io/v1) read from ../shared/kserve,
  with the labels and annotation a KServe install puts on it, and what mlpipex reads
  to learn what the cluster's KServe can do (``Cluster.kserve_facts``): the controller
  Deployment ``kserve/kserve-controller-manager`` (its ``manager`` image carries the
  release) and the ``inferenceservice-config`` ConfigMap in ``kserve`` (the one the
  admission oracle runs with, as a default install ships it). Which KServe it plays is
  a :class:`KServeInstall`: ``V0_20_0`` (the default: the latest release) or
  ``WEIGHTING`` (a KServe that weights Standard-mode canary traffic);
- validates every written object against that CRD's OpenAPI schema (422 Invalid);
- then admits it with KServe's own webhook code (tests/kserve/cluster_fake/kserve_admission.py: the
  InferenceService defaulter and validator of the pinned KServe release, create or
  update over the stored object, for POST, PUT, apply and merge patch alike): a
  refusal answers 403 Forbidden with ``admission webhook "<name>" denied the request:
  <KServe's message>``, as the API server relays it; an admitted object is stored as
  KServe's mutating webhook defaulted it;
- get, create (POST), replace (PUT, with resourceVersion conflicts: 409), server-side
  apply (PATCH application/apply-patch+yaml: the manager's fields are replaced, so
  fields it leaves out are removed, as apply does), merge patch, delete, 404;
- controller stand-in: bumps generation, sets status (Ready condition, URL,
  traffic per mode: Knative revisions with canaryTrafficPercent; Standard
  ``spec.canary[]`` split only on a KServe that weights it, else all traffic to the
  stable predictor, as v0.20.0 does; an object without the deploymentMode annotation
  runs in the ConfigMap's ``deploy.defaultDeploymentMode``, as KServe's controller
  does), and never marks Ready a model whose storageUri contains
  ``never-ready`` (a revision that never becomes ready);
- fault injection: ``fail_next`` queues status codes (409, 503, 403, …) for the
  next writes.

It is a test double, documented as such; it implements only what mlpipex uses.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from _fake_server import FakeServer
from tests.kserve.cluster_fake import kserve_admission

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
CRD_PATH = Path(__file__).resolve().parents[4] / "shared" / "kserve" / "serving.kserve.io_inferenceservices.yaml"
_ITEM = re.compile(rf"^/apis/{GROUP}/{VERSION}/namespaces/([^/]+)/{PLURAL}(?:/([^/?]+))?(?:/status)?$")


KSERVE_NAMESPACE = "kserve"
CONFIGMAP_PATH = f"/api/v1/namespaces/{KSERVE_NAMESPACE}/configmaps/inferenceservice-config"
CONTROLLER_PATH = f"/apis/apps/v1/namespaces/{KSERVE_NAMESPACE}/deployments/kserve-controller-manager"
# KServe's config/default/kustomization.yaml labels every object it installs; the CRD's
# conversion webhook gets its CA from cert-manager (config/default/cainjection_conversion_webhook.yaml).
INSTALL_LABELS = {"app.kubernetes.io/name": "kserve", "app.kubernetes.io/component": "kserve"}
CRD_ANNOTATIONS = {"cert-manager.io/inject-ca-from": f"{KSERVE_NAMESPACE}/serving-cert"}
_MODES = {"Serverless": "Knative", "RawDeployment": "Standard"}  # legacy names, as KServe normalises them


@dataclass(frozen=True)
class KServeInstall:
    """The KServe the fake plays: its release (the controller's image tag) and the ConfigMap's switches.

    Standard-mode ``spec.canary[]`` traffic is weighted only by a KServe after v0.20.0, through
    Gateway API HTTPRoutes (``ingress.enableGatewayApi``); v0.20.0 creates the canary's
    Deployment and routes it nothing (KServe issues #5335, #4074).
    """

    version: str = "v0.20.0"
    gateway_api: bool = False  # ingress.enableGatewayApi; shipped false
    default_mode: str | None = None  # deploy.defaultDeploymentMode; None: as shipped (Serverless)

    @property
    def image(self) -> str:
        return f"kserve/kserve-controller:{self.version}"

    @property
    def weights_standard_canary(self) -> bool:
        major, minor = (int(p) for p in self.version.lstrip("v").split(".")[:2])
        return self.gateway_api and (major, minor) > (0, 20)


V0_20_0 = KServeInstall()
# KServe's master after v0.20.0 (HTTPRoute weighting), played as the first release that would carry it.
WEIGHTING = KServeInstall(version="v0.21.0", gateway_api=True)


@functools.lru_cache(maxsize=2)
def _load_crd(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return loaded


class FakeKubernetes(FakeServer):
    def __init__(self, crd_path: Path = CRD_PATH, *, admission: kserve_admission.KServeAdmission | None = None,
                 admit: bool = True, kserve: KServeInstall = V0_20_0) -> None:  # fmt: skip
        # KServe's admission runs on every write unless a test says admit=False (and why).
        self.admission = (admission or kserve_admission.shared()) if admit else None
        self.kserve = kserve
        self.crd = copy.deepcopy(_load_crd(crd_path))
        self.crd["metadata"].setdefault("labels", {}).update(INSTALL_LABELS)
        self.crd["metadata"].setdefault("annotations", {}).update(CRD_ANNOTATIONS)
        self.validator = jsonschema.Draft7Validator(self.crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.extra: dict[str, dict[str, Any]] = {}  # other objects served at their GET path (KServe's ConfigMap, …)
        self.play(kserve)
        self.revisions: dict[tuple[str, str], list[str]] = {}
        self.predictor_generations: dict[tuple[str, str], dict[str, int]] = {}  # Standard mode: per predictor Deployment
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[int] = []
        self.down = False
        self._version = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append((self.command, self.path))
                code, reply = fake.handle(self.command, self.path, self.headers.get("Content-Type", ""), body)
                self._reply(code, reply)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        super().__init__(Handler)

    def play(self, kserve: KServeInstall) -> None:
        """Be ``kserve`` from now on (an upgrade or a ConfigMap edit between two steps): its controller
        image and, where the oracle's shipped ConfigMap is at hand, its ConfigMap."""
        self.kserve = kserve
        self.extra[CONTROLLER_PATH] = _controller_deployment(kserve)
        if self.admission is not None:
            self.extra[CONFIGMAP_PATH] = _configmap(self.admission.folder / "inferenceservice.yaml", kserve)


    def kubeconfig(self, path: Path, context: str = "fake") -> Path:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake"}}],
        }  # fmt: skip
        path.write_text(yaml.safe_dump(config))
        return path

    # -- the API ---------------------------------------------------------------------

    def handle(self, method: str, path: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, _status(503, "ServiceUnavailable", "the API server is down")
        url_path, _, query = path.partition("?")
        if url_path == f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{PLURAL}.{GROUP}":
            return 200, self.crd
        if method == "GET" and url_path in self.extra:
            return 200, self.extra[url_path]
        match = _ITEM.match(url_path)
        if not match:
            return 404, _status(404, "NotFound", f"no route for {path}")
        namespace, name = match.groups()
        if method in ("POST", "PUT", "PATCH", "DELETE") and self.fail_next:
            code = self.fail_next.pop(0)
            reason = {409: "Conflict", 503: "ServiceUnavailable", 403: "Forbidden", 500: "InternalError"}.get(code, "Error")
            return code, _status(code, reason, f"injected {code}")
        with self._lock:
            key = (namespace, name or "")
            if method == "GET":
                if name is None:
                    items = [o for (ns, _), o in self.objects.items() if ns == namespace]
                    return 200, {"apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceServiceList", "items": items}
                if key not in self.objects:
                    return 404, _status(404, "NotFound", f'inferenceservices.{GROUP} "{name}" not found')
                return 200, self.objects[key]
            if method == "DELETE":
                if self.objects.pop(key, None) is None:
                    return 404, _status(404, "NotFound", f'inferenceservices.{GROUP} "{name}" not found')
                return 200, _status(200, "Success", "deleted")
            obj = yaml.safe_load(body) if "yaml" in content_type else json.loads(body or b"{}")
            if method == "POST":
                key = (namespace, obj["metadata"]["name"])
                if key in self.objects:
                    return 409, _status(409, "AlreadyExists", f'inferenceservices.{GROUP} "{key[1]}" already exists')
                return self._store(key, obj, created=True)
            if key not in self.objects and not (method == "PATCH" and "apply-patch" in content_type):
                return 404, _status(404, "NotFound", f'inferenceservices.{GROUP} "{name}" not found')
            if method == "PUT":
                current = self.objects[key]
                if obj.get("metadata", {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
                    return 409, _status(409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again")
                return self._store(key, obj, status_write=url_path.endswith("/status"))
            if "apply-patch" in content_type:
                if "fieldManager=" not in query:
                    return 400, _status(400, "BadRequest", "fieldManager is required for apply requests")
                return self._store(key, self._applied(self.objects.get(key), obj), created=key not in self.objects)
            merged = _merge(copy.deepcopy(self.objects[key]), obj)  # merge patch
            return self._store(key, merged, status_write=url_path.endswith("/status"))

    def _applied(self, current: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, Any]:
        # One manager (mlpipex) owns spec, labels and annotations: apply replaces them.
        result = copy.deepcopy(desired)
        if current:
            result["metadata"] = {**current["metadata"], **{k: v for k, v in desired["metadata"].items()}}
            result["status"] = current.get("status", {})
        return result

    def _store(self, key: tuple[str, str], obj: dict[str, Any], created: bool = False,
               status_write: bool = False) -> tuple[int, dict[str, Any]]:  # fmt: skip
        candidate = {k: v for k, v in obj.items() if k != "status"}
        errors = sorted(self.validator.iter_errors(candidate), key=lambda e: list(e.absolute_path))
        if errors:
            causes = [{"field": ".".join(str(p) for p in e.absolute_path), "message": e.message} for e in errors]
            status = _status(422, "Invalid", f'InferenceService.{GROUP} "{key[1]}" is invalid: {causes[0]["field"]}: {causes[0]["message"]}')
            status["details"] = {"causes": causes}
            return 422, status
        metadata = obj.setdefault("metadata", {})
        metadata["namespace"], metadata["name"] = key
        previous = self.objects.get(key)
        if self.admission is not None and not status_write:  # KServe's webhooks do not cover the status subresource
            refused = self._admit(obj, previous)
            if refused is not None:
                return refused
        self._version += 1
        metadata["resourceVersion"] = str(self._version)
        metadata["generation"] = (previous["metadata"].get("generation", 0) + 1) if previous else 1
        metadata.setdefault("uid", f"uid-{key[0]}-{key[1]}")
        obj["status"] = self._controller(key, obj, previous)
        self.objects[key] = obj
        return (201 if created else 200), obj

    def _admit(self, obj: dict[str, Any], previous: dict[str, Any] | None) -> tuple[int, dict[str, Any]] | None:
        """KServe's mutating then validating webhook; the object takes the defaulted spec and metadata."""
        assert self.admission is not None
        verdict = self.admission.admit("create" if previous is None else "update", obj, previous)
        if not verdict.allowed:
            # controller-runtime answers a denial with 403 Forbidden; the API server keeps the code.
            return 403, _status(403, "Forbidden", verdict.api_message)
        defaulted = verdict.object or {}
        obj["spec"] = defaulted.get("spec", obj.get("spec"))
        for part in ("labels", "annotations"):
            if defaulted.get("metadata", {}).get(part):
                obj["metadata"][part] = defaulted["metadata"][part]
        return None

    def _controller(self, key: tuple[str, str], obj: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        """What KServe's controller would report: revisions, traffic, readiness."""
        spec = obj["spec"]
        revisions = self.revisions.setdefault(key, [])
        predictor = spec["predictor"]
        uris = [predictor["model"].get("storageUri", "")] + [c["predictor"]["model"].get("storageUri", "")
                                                             for c in spec.get("canary", [])]  # fmt: skip
        ready = not any("never-ready" in u for u in uris)
        knative = self._mode(obj) == "Knative"
        old_spec = previous["spec"]["predictor"] if previous else None
        if old_spec is None or _model(old_spec) != _model(predictor) or (spec.get("canary") and not previous):
            revisions.append(f"{key[1]}-predictor-{len(revisions) + 1:05d}")
        traffic: list[dict[str, Any]]
        if knative and "canaryTrafficPercent" in predictor and len(revisions) > 1:
            percent = predictor["canaryTrafficPercent"]
            traffic = [{"revisionName": revisions[-1], "percent": percent, "latestRevision": True, "tag": "latest"},
                       {"revisionName": revisions[-2], "percent": 100 - percent, "latestRevision": False, "tag": "prev"}]  # fmt: skip
        elif spec.get("canary") and not self.kserve.weights_standard_canary:
            # v0.20.0: the canary's Deployment runs, the Service still selects the stable predictor only
            traffic = [{"revisionName": "stable", "percent": 100, "storageUri": uris[0]}]
        elif spec.get("canary"):
            canary = spec["canary"][0]
            traffic = [{"revisionName": "canary", "percent": canary["trafficPercent"], "storageUri": uris[1]},
                       {"revisionName": "stable", "percent": 100 - canary["trafficPercent"], "storageUri": uris[0]}]  # fmt: skip
        else:
            traffic = [{"revisionName": revisions[-1], "percent": 100, "latestRevision": True}]
        condition = {"type": "Ready", "status": "True" if ready else "False"}
        if not ready:
            condition.update(reason="RevisionMissing", message="Revision failed to become ready: container model-server crashed: failed to load model")
        conditions = [condition, {"type": "PredictorReady", "status": condition["status"]}]
        status: dict[str, Any] = {
            "observedGeneration": obj["metadata"]["generation"],
            "url": f"http://{key[1]}.{key[0]}.example.com",
            "conditions": conditions,
            "components": {"predictor": {"traffic": traffic, "latestCreatedRevision": revisions[-1],
                                         **({"latestReadyRevision": revisions[-1]} if ready else {})}},
            "deploymentMode": "Knative" if knative else "Standard",
        }
        if not knative:
            # As KServe v0.20.0 reports Standard mode (tests/cluster shows the real one): the address of
            # the named predictor's Service, the predictor Deployment's observedGeneration (1 for a new
            # name, whatever the InferenceService's generation), and the canaries' own condition.
            name = predictor.get("name")
            service = f"{key[1]}-{name}-predictor" if name else f"{key[1]}-predictor"
            names = self.predictor_generations.setdefault(key, {})
            names[service] = names.get(service, 0) + 1
            status["observedGeneration"] = names[service]
            status["address"] = {"url": f"http://{service}.{key[0]}.svc.cluster.local"}
            if spec.get("canary"):
                conditions.append({"type": "CanaryPredictorReady", "status": condition["status"]})
        return status


    def _mode(self, obj: dict[str, Any]) -> str:
        """The object's deployment mode as KServe's controller reads it: the annotation, else the
        ConfigMap's default (shipped: Serverless, i.e. Knative)."""
        mode = obj["metadata"].get("annotations", {}).get("serving.kserve.io/deploymentMode")
        if not mode:
            configmap = self.extra.get(CONFIGMAP_PATH) or {}
            deploy = json.loads((configmap.get("data") or {}).get("deploy") or "{}")
            mode = deploy.get("defaultDeploymentMode", "Serverless")
        return _MODES.get(str(mode), str(mode))


def _controller_deployment(kserve: KServeInstall) -> dict[str, Any]:
    """KServe's controller as config/manager/manager.yaml installs it, with a released image."""
    labels = {"app.kubernetes.io/name": "kserve-controller-manager", "control-plane": "kserve-controller-manager",
              "controller-tools.k8s.io": "1.0"}  # fmt: skip
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "kserve-controller-manager", "namespace": KSERVE_NAMESPACE, "labels": {**labels, **INSTALL_LABELS}},
        "spec": {"selector": {"matchLabels": {k: labels[k] for k in ("control-plane", "controller-tools.k8s.io")}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "manager", "image": kserve.image, "command": ["/manager"]}]}}},
    }  # fmt: skip


def _configmap(path: Path, kserve: KServeInstall) -> dict[str, Any]:
    """The shipped ``inferenceservice-config`` with ``kserve``'s switches set in its JSON sections."""
    configmap: dict[str, Any] = yaml.safe_load(path.read_text())
    data = configmap["data"]
    for section, key, value in (("ingress", "enableGatewayApi", kserve.gateway_api),
                                ("deploy", "defaultDeploymentMode", kserve.default_mode)):  # fmt: skip
        if value is not None:
            data[section] = json.dumps({**json.loads(data.get(section) or "{}"), key: value})
    return configmap


def _model(predictor: dict[str, Any]) -> Any:
    return {k: v for k, v in predictor.items() if k != "canaryTrafficPercent"}


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}  # fmt: skip
