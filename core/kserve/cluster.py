"""The one module that talks to Kubernetes.

It takes an ``ApiClient`` (so tests hand it one pointed at the local stand-in) and
turns every API failure into a plain sentence: unreachable and forbidden are
outside-system errors (exit 3); an object the API server calls invalid is bad
input (exit 2) listing the fields. Writes are server-side apply with field manager
``mlpipex``; conflicts and 5xx are retried with backoff.

Every request has a timeout (connect, read): a cluster that accepts the connection and
never answers must not hold a gate or a rollout for ever. ``MLPIPEX_KUBE_TIMEOUT``
(seconds to wait for an answer) changes the default.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from mlpipex.errors import ExternalError, InputError
from mlpipex.kserve.crd import CrdSchema
from mlpipex.retry import backoff

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "FIELD_MANAGER", "Cluster", "NotReady", "request_timeout"]

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
FIELD_MANAGER = "mlpipex"
CRD_NAME = f"{PLURAL}.{GROUP}"
ROUTE = ("gateway.networking.k8s.io", "v1")  # the HTTPRoutes of deploy.traffic (mlpipex.kserve.httproute)
# (connect, read) seconds. A read is one API call; the long waits (Ready) are polls of short calls.
DEFAULT_REQUEST_TIMEOUT = (10.0, 30.0)
TIMEOUT_VARIABLE = "MLPIPEX_KUBE_TIMEOUT"


def request_timeout(environ: dict[str, str] | None = None) -> tuple[float, float]:
    """(connect, read) seconds: ``MLPIPEX_KUBE_TIMEOUT`` sets the read timeout (and caps the connect one)."""
    text = (os.environ if environ is None else environ).get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_REQUEST_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 3600:
        raise InputError(f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds between 0 and 3600",
                         fix=f"set {TIMEOUT_VARIABLE} to e.g. 30, or unset it for the default "
                             f"({DEFAULT_REQUEST_TIMEOUT[1]:g} s)")  # fmt: skip
    return (min(DEFAULT_REQUEST_TIMEOUT[0], seconds), seconds)


class Cluster:
    def __init__(self, api_client: Any, *, name: str = "the cluster", retries: int = 5,
                 timeout: tuple[float, float] | None = None) -> None:  # fmt: skip
        from kubernetes import client

        self.api_client = api_client
        self.name = name
        self.retries = retries
        self.timeout = timeout if timeout is not None else request_timeout()
        # Named in every "cannot reach" message: which API server, not only which context.
        self.server = str(getattr(getattr(api_client, "configuration", None), "host", "") or "")
        self._custom = client.CustomObjectsApi(api_client)
        self._extensions = client.ApiextensionsV1Api(api_client)

    @classmethod
    def connect(cls, context: str | None = None, kubeconfig: str | None = None) -> Cluster:
        try:
            from kubernetes import config
        except ImportError:
            raise InputError("deploying needs the `kserve` extra", fix="pip install 'mlpipex[kserve]'") from None
        from kubernetes import client

        settings = client.Configuration()
        settings.retries = 0  # retries are ours, with backoff and a clear message at the end
        # The client reads KUBECONFIG once, at import; read it at call time instead.
        path = kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None)
        try:
            api = config.new_client_from_config(config_file=path, context=context, client_configuration=settings)
            return cls(api, name=f"context {context}" if context else "the current kubeconfig context")
        except (config.ConfigException, FileNotFoundError, TypeError) as exc:
            if context is None:
                try:
                    config.load_incluster_config(client_configuration=settings)
                    return cls(client.ApiClient(settings), name="this cluster (in-cluster)")
                except config.ConfigException:
                    pass
            raise InputError(f"no usable kubeconfig: {exc}",
                             fix="set KUBECONFIG or --kubeconfig, and the environment's `context`") from None  # fmt: skip

    # -- calls ---------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        raw_errors = kwargs.pop("_raw_errors", False)  # the caller explains API errors itself (a 404 that means something)
        kwargs["_request_timeout"] = self.timeout  # every request: connect and read bounded
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except ApiException as exc:
                retryable = exc.status in (409, 429, 500, 502, 503, 504)
                if retryable and attempt < self.retries:
                    time.sleep(backoff(attempt, base=0.2, cap=3))
                    continue
                if raw_errors:
                    raise
                raise self._explain(what, exc) from None
            except HTTPError as exc:
                # A connection that failed is tried again; a server that took the request and did not
                # answer in time is not: each try would hold the gate or rollout for the whole timeout.
                if attempt < min(self.retries, 2) and not _timed_out(exc, read_only=True):
                    time.sleep(backoff(attempt, base=0.2, cap=3))
                    continue
                raise self._unreachable(what, exc) from None
        raise AssertionError("unreachable")

    def _unreachable(self, what: str, exc: Exception) -> ExternalError:
        at = f" at {self.server}" if self.server else ""
        if _timed_out(exc):
            connect, read = self.timeout
            waited = f"{read:g} s" if _timed_out(exc, read_only=True) else f"{connect:g} s (connecting)"
            return ExternalError(
                f"the Kubernetes API server of {self.name}{at} did not answer {what} within {waited}",
                fix=f"check that the cluster is up and that {self.server or 'its server'} is the API server "
                    f"(kubeconfig context, VPN, proxy); on a slow cluster raise {TIMEOUT_VARIABLE} (seconds)",
            )  # fmt: skip
        return ExternalError(f"cannot reach the Kubernetes API server of {self.name}{at} ({what}): {exc}",
                             fix="check the kubeconfig context and that the cluster is up")  # fmt: skip

    def _explain(self, what: str, exc: Any) -> Exception:
        try:
            body = json.loads(exc.body or "{}")
        except (TypeError, ValueError):
            body = {}
        message = body.get("message") or exc.reason
        if "admission webhook" in str(message) and "denied the request" in str(message):
            # KServe's webhook refused the object (the API server relays it as 403 or 400): the
            # deploy settings are at fault, not the service account's rights.
            return InputError(f"KServe refused the InferenceService ({what}): {message}",
                              fix="change the deploy section of mlpipex.yaml; docs/deploy.md lists what each "
                                  "KServe version and mode admits")  # fmt: skip
        route = "HTTPRoute" in what  # deploy.traffic's route: its own resource in the messages
        if exc.status in (401, 403):
            resource = "httproutes.gateway.networking.k8s.io" if route else "inferenceservices.serving.kserve.io"
            return ExternalError(f"{self.name} refused {what}: {message}",
                                 fix=f"the service account needs get/list/create/patch on {resource}")  # fmt: skip
        if exc.status == 404 and route:
            return ExternalError(f"{self.name} has no Gateway API HTTPRoutes ({what}): {message}",
                                 fix="install the Gateway API CRDs (standard channel) and a gateway controller, "
                                     "or drop deploy.traffic")  # fmt: skip
        if exc.status == 422:
            causes = [f"{c.get('field')}: {c.get('message')}" for c in body.get("details", {}).get("causes", [])]
            return InputError(f"the API server rejected the {'HTTPRoute' if route else 'InferenceService'}: {message}"
                              + ("\n  " + "\n  ".join(causes[:10]) if causes else ""))  # fmt: skip
        return ExternalError(f"{self.name} failed {what}: HTTP {exc.status} {message}")

    def crd(self) -> CrdSchema:
        from kubernetes.client.exceptions import ApiException

        try:
            response = self._call("reading the InferenceService CRD", self._extensions.read_custom_resource_definition,
                                  CRD_NAME, _preload_content=False, _raw_errors=True)  # fmt: skip
        except ApiException as exc:
            if exc.status == 404:
                raise ExternalError(f"KServe is not installed in {self.name}: no {CRD_NAME} CRD",
                                    fix="install KServe, or pass --crd FILE to validate against a file") from None  # fmt: skip
            raise self._explain("reading the InferenceService CRD", exc) from None
        return CrdSchema(json.loads(response.data))

    def kserve_facts(self, namespace: str = "kserve") -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """The CRD, the controller's image and the ``inferenceservice-config`` ConfigMap, each None where it
        cannot be read (``mlpipex.kserve.capabilities`` turns them into what this KServe can do)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        def quiet(what: str, fn: Any, *args: Any) -> Any:
            try:
                return self._call(what, fn, *args, _preload_content=False)
            except (ExternalError, InputError, ApiException):
                return None  # not there, or not ours to read: the capability stays unknown

        crd = quiet("reading the InferenceService CRD", self._extensions.read_custom_resource_definition, CRD_NAME)
        deployment = quiet("reading KServe's controller", client.AppsV1Api(self.api_client).read_namespaced_deployment,
                           "kserve-controller-manager", namespace)  # fmt: skip
        configmap = quiet("reading KServe's ConfigMap", client.CoreV1Api(self.api_client).read_namespaced_config_map,
                          "inferenceservice-config", namespace)  # fmt: skip
        image = None
        if deployment is not None:
            containers = json.loads(deployment.data).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            image = next((c.get("image") for c in containers if c.get("name") == "manager"), None)
        return (json.loads(crd.data) if crd is not None else None, image,
                json.loads(configmap.data) if configmap is not None else None)  # fmt: skip

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        def read(**options: Any) -> dict[str, Any] | None:
            try:
                obj: dict[str, Any] = self._custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name,
                                                                                **options)  # fmt: skip
                return obj
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        result: dict[str, Any] | None = self._call(f"reading {namespace}/{name}", read)
        return result

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        response = self._call(
            f"applying {meta['namespace']}/{meta['name']}",
            self._custom.patch_namespaced_custom_object,
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], obj,
            field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml",
            _preload_content=False,
        )  # fmt: skip
        # Raw body: the generated client deserializes only HTTP 200, so the 201 of an apply that
        # creates the object came back as None (seen against the real API server, tests/cluster).
        result: dict[str, Any] = json.loads(response.data)
        return result

    def get_route(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The HTTPRoute ``name`` (gateway.networking.k8s.io/v1), or None (not there, or no Gateway API CRDs)."""
        from kubernetes.client.exceptions import ApiException

        def read(**kwargs: Any) -> dict[str, Any] | None:  # _call passes the request timeout
            try:
                obj: dict[str, Any] = self._custom.get_namespaced_custom_object(*ROUTE, namespace, "httproutes", name,
                                                                                **kwargs)  # fmt: skip
                return obj
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        result: dict[str, Any] | None = self._call(f"reading HTTPRoute {namespace}/{name}", read)
        return result

    def apply_route(self, route: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of an HTTPRoute (field manager mlpipex), as ``apply`` does the InferenceService."""
        meta = route["metadata"]
        what = f"applying HTTPRoute {meta['namespace']}/{meta['name']}"
        response = self._call(what, self._custom.patch_namespaced_custom_object, *ROUTE, meta["namespace"], "httproutes",
                              meta["name"], route, field_manager=FIELD_MANAGER, force=True,
                              _content_type="application/apply-patch+yaml", _preload_content=False)  # fmt: skip
        result: dict[str, Any] = json.loads(response.data)
        return result

    def wait_ready(self, namespace: str, name: str, *, timeout: float, poll: float = 1.0) -> dict[str, Any]:
        """Until Ready is True for the current generation; on timeout say what blocks it."""
        deadline = time.monotonic() + timeout
        obj: dict[str, Any] | None = None
        while True:
            obj = self.get(namespace, name)
            if obj is not None and ready(obj):
                return obj
            if time.monotonic() >= deadline:
                unplaced = self.unscheduled_pods(namespace, name)
                placement = f"; {unplaced}" if unplaced else ""
                raise NotReady(f"{namespace}/{name} is not Ready after {timeout:g} s: {blockers(obj)}{placement}",
                                    fix=("give the model a toleration and resources some node has (deploy.tolerations, "
                                         "deploy.gpu), or add such a node; " if unplaced else "kubectl describe inferenceservice; ")
                                    + "`mlpipex rollback` returns to the previous model")  # fmt: skip
            time.sleep(poll)

    def ready_pods(self, namespace: str, component: str) -> int:
        """How many pods of KServe's predictor Deployment ``component`` ({isvc}-{name}-predictor) are Ready.

        What says a canary's new replicas serve: KServe's CanaryPredictorReady stays True from the
        step before while a larger replica count is still being placed. Pods, not the Deployment:
        listing the model's pods is the one read of them mlpipex's role already has."""
        from kubernetes import client

        pods = self._call(f"listing the pods of {namespace}/{component}", client.CoreV1Api(self.api_client).list_namespaced_pod,
                          namespace, label_selector=f"app=isvc.{component}").items  # KServe's RawDeploymentAppLabel
        def serving(pod: Any) -> bool:
            conditions = (pod.status.conditions if pod.status else None) or []
            return pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True" for c in conditions)

        return sum(1 for pod in pods if serving(pod))

    def unscheduled_pods(self, namespace: str, name: str) -> str:
        """The scheduler's own words for the model's pods it cannot place, or "" (none, or no right to read pods).

        KServe reports only "MinimumReplicasUnavailable" on the InferenceService; why a pod
        is Pending (an untolerated GPU taint, more GPUs than any node has) is on the pod.
        """
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            pods = client.CoreV1Api(self.api_client).list_namespaced_pod(
                namespace, label_selector=f"serving.kserve.io/inferenceservice={name}", _request_timeout=self.timeout).items
        except (ApiException, OSError, HTTPError):  # a read for the message only: never the reason a step fails
            return ""
        return unscheduled(pods)


class NotReady(ExternalError):
    """A step the cluster took but did not make Ready in time (what deploy.on_not_ready acts on)."""


def _timed_out(exc: BaseException, *, read_only: bool = False) -> bool:
    """A timeout of ours (read, or with ``read_only`` False also connect), raised bare or wrapped by urllib3's retry."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    kinds: tuple[type[BaseException], ...] = (ReadTimeoutError,) if read_only else (ReadTimeoutError, ConnectTimeoutError)
    for error in (exc, getattr(exc, "reason", None)):
        # urllib3 2 makes a refused connection (NewConnectionError) a ConnectTimeoutError too: it is not one
        if isinstance(error, kinds) and not isinstance(error, NewConnectionError):
            return True
    return False


def unscheduled(pods: list[Any]) -> str:
    """``pod NAME cannot be scheduled: <the scheduler's message>`` for each Pending pod (pure)."""
    words = []
    for pod in pods:
        for condition in (pod.status.conditions or []) if pod.status else []:
            if condition.type == "PodScheduled" and condition.status == "False" and condition.reason == "Unschedulable":
                words.append(f"pod {pod.metadata.name} cannot be scheduled: {condition.message}")
    return "; ".join(words)


def ready(obj: dict[str, Any]) -> bool:
    """Ready is True, and the status is about the spec as it is now (not the model before it)."""
    status = obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
    if conditions.get("Ready") != "True":
        return False
    metadata, spec = obj.get("metadata", {}), obj.get("spec") or {}
    mode = (metadata.get("annotations") or {}).get("serving.kserve.io/deploymentMode") or status.get("deploymentMode")
    if mode in ("Standard", "RawDeployment"):
        # In Standard mode KServe copies the predictor *Deployment's* observedGeneration into the
        # status (inference_service_status.go, v0.20.0), which never matches the InferenceService's
        # own generation after an update. What says the status is current: it addresses the
        # predictor the spec names ({isvc}-{name}-predictor), and every canary reports ready.
        name = (spec.get("predictor") or {}).get("name")
        host = f"{metadata.get('name')}-{name}-predictor." if name else f"{metadata.get('name')}-predictor."
        url = str((status.get("address") or {}).get("url") or "")
        if host not in url:
            return False
        return not spec.get("canary") or conditions.get("CanaryPredictorReady") == "True"
    return status.get("observedGeneration") == metadata.get("generation")


def blockers(obj: dict[str, Any] | None) -> str:
    """The conditions that are not True, in plain words."""
    if obj is None:
        return "the InferenceService does not exist"
    conditions = (obj.get("status") or {}).get("conditions") or []
    waiting = [f"{c.get('type')} is {c.get('status')}" + (f" ({c.get('reason')}: {c.get('message')})" if c.get("message") else "")
               for c in conditions if c.get("status") != "True"]  # fmt: skip
    return "; ".join(waiting) or "the controller has not reported on the latest change yet"
