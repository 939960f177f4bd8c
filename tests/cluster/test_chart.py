"""The mlpipex chart (deploy/helm/mlpipex) installed into the real control plane (issue 16, "The App and
the monitor, shipped for real"): `helm install --wait` sees both Deployments become Available (pods
are KWOK's: Running without executing), the API server's own strict validation accepts every object
(server-side dry-run), and the RBAC is checked for real: the App's ServiceAccount token, issued by the
API server (TokenRequest), runs mlpipex.kserve.cluster.Cluster's calls against KServe — allowed — and
what the App never needs is refused with 403."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from mlpipex.config.model import TrafficConfig
from mlpipex.errors import ExternalError
from mlpipex.kserve import build_http_route, weights_of
from mlpipex.kserve.cluster import Cluster
from tests.deploy.chart import CHART, KUBE_VERSION, component

from .controlplane import ControlPlane
from .kserve import NAMESPACE as KSERVE_NAMESPACE
from .kserve import KServeController
from .objects import create_namespace, mlpipex_service, wait_for, without_model_name

pytestmark = pytest.mark.timeout(300)


@dataclass
class Installed:
    release: str
    namespace: str  # where the App and the monitor run
    models: str  # the one model namespace (modelNamespaces)
    values: dict[str, Any]
    timings: dict[str, float]


def _secrets(api: Any, namespace: str) -> None:
    """The Secrets the chart references, as the chart README says to create them (KWOK runs no container,
    but the objects are what a real install has)."""
    core = client.CoreV1Api(api)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "mlpipex-app"}, "stringData": {
        "app-id": "12345", "webhook-secret": "w" * 32, "database-url": "postgresql://mlpipex@db/mlpipex",
        "private-key.pem": "-----BEGIN RSA PRIVATE KEY-----\n(test)\n-----END RSA PRIVATE KEY-----\n",
        "alert-token": "a" * 32}})  # fmt: skip
    core.create_namespaced_secret(namespace, {"metadata": {"name": "mlpipex-monitor-tokens"},
                                              "stringData": {"app": "m" * 32}})  # fmt: skip


@pytest.fixture(scope="module")
def installed(control_plane: ControlPlane, kserve: KServeController,
              helm: Callable[..., Any]) -> Iterator[Installed]:  # fmt: skip
    suffix = uuid.uuid4().hex[:6]
    namespace, models = f"mlpipex-{suffix}", f"models-{suffix}"
    api = control_plane.api_client()
    for name in (namespace, models):
        create_namespace(api, name)
    _secrets(api, namespace)
    values: dict[str, Any] = {"modelNamespaces": [models], "kserve": {"namespace": KSERVE_NAMESPACE}}
    values_file = control_plane.dir / f"values-{suffix}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    started = time.monotonic()
    result = helm("install", "mlpipex", str(CHART), "--namespace", namespace, "--values", str(values_file),
                  "--wait", "--timeout", "120s")  # fmt: skip
    timings = {"helm-install-ready": round(time.monotonic() - started, 2)}
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"==> helm install of deploy/helm/mlpipex, both Deployments Available: {timings['helm-install-ready']} s",
          file=sys.stderr)  # fmt: skip
    yield Installed("mlpipex", namespace, models, values, timings)
    started = time.monotonic()
    helm("uninstall", "mlpipex", "--namespace", namespace, "--wait", "--timeout", "60s")
    print(f"==> helm uninstall: {time.monotonic() - started:.1f} s", file=sys.stderr)
    core = client.CoreV1Api(api)
    for name in (namespace, models):
        core.delete_namespace(name)


def test_helm_install_makes_both_deployments_available(control_plane: ControlPlane, installed: Installed,
                                                       helm: Callable[..., Any]) -> None:  # fmt: skip
    apps = client.AppsV1Api(control_plane.api_client())
    app = apps.read_namespaced_deployment("mlpipex-app", installed.namespace)
    monitor = apps.read_namespaced_deployment("mlpipex-monitor", installed.namespace)
    assert (app.status.available_replicas, monitor.status.available_replicas) == (2, 1)
    for deployment in (app, monitor):
        assert any(c.type == "Available" and c.status == "True" for c in deployment.status.conditions)
    pods = client.CoreV1Api(control_plane.api_client()).list_namespaced_pod(installed.namespace).items
    assert {p.spec.node_name for p in pods} <= {"kwok-cpu-0", "kwok-cpu-1"}  # not on the tainted GPU pool
    assert all(p.spec.security_context.run_as_non_root for p in pods)
    listed = helm("list", "--namespace", installed.namespace, "--output", "json")
    assert json.loads(listed.stdout)[0]["status"] == "deployed"
    policies = client.PolicyV1Api(control_plane.api_client())
    wait_for(lambda: policies.read_namespaced_pod_disruption_budget("mlpipex-app", installed.namespace)
             .status.disruptions_allowed == 1, 30, "the App's PDB to allow one disruption of two replicas")  # fmt: skip


def _post_dry_run(api: Any, obj: dict[str, Any]) -> Any:
    """Create ``obj`` with dryRun=All and fieldValidation=Strict: the API server's own validation, unknown
    fields refused, nothing stored."""
    from kubernetes.dynamic import DynamicClient

    resource = DynamicClient(api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    path = resource.path(namespace=obj["metadata"].get("namespace") if resource.namespaced else None)
    return api.call_api(path, "POST", query_params=[("dryRun", "All"), ("fieldValidation", "Strict")], body=obj,
                        header_params={"Content-Type": "application/json", "Accept": "application/json"},
                        auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)  # fmt: skip


def test_the_api_server_accepts_every_object_strictly(control_plane: ControlPlane, installed: Installed,
                                                      helm: Callable[..., Any]) -> None:  # fmt: skip
    """Every object of the chart, with optional parts on, through the API server's strict decoding and
    validation (server-side dry-run in a namespace of its own), and a misspelt field refused there."""
    namespace = f"dry-{uuid.uuid4().hex[:6]}"
    api = control_plane.api_client()
    create_namespace(api, namespace)
    values = dict(installed.values, monitor={"cluster": {"enabled": True}, "schedule": "1m",
                                             "models": {"fraud": {"model": {"name": "fraud"}}}})  # fmt: skip
    values_file = control_plane.dir / f"values-{namespace}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    rendered = helm("template", "dry", str(CHART), "--namespace", namespace, "--values", str(values_file),
                    "--kube-version", KUBE_VERSION)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    objects = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding",
                                            "Role", "RoleBinding", "PodDisruptionBudget", "NetworkPolicy"}
    for obj in objects:
        try:
            _post_dry_run(api, obj)
        except ApiException as error:
            pytest.fail(f"the API server refused {obj['kind']} {obj['metadata']['name']}: {error.status} {error.body}")
    broken = component(objects, "Deployment", "app")
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True  # misspelt
    with pytest.raises(ApiException) as refused:
        _post_dry_run(api, broken)
    message = json.loads(refused.value.body)["message"]
    assert refused.value.status == 400 and 'unknown field "spec.template.spec.containers[0].securityContext.runAsNonroot"' \
        in message, message  # fmt: skip
    client.CoreV1Api(api).delete_namespace(namespace)


def service_account_client(plane: ControlPlane, namespace: str, account: str) -> Any:
    """An ApiClient with the ServiceAccount's own token, issued by the API server (TokenRequest): the
    identity a pod of that ServiceAccount has, judged by the real RBAC authorizer."""
    core = client.CoreV1Api(plane.api_client())
    request = core.create_namespaced_service_account_token(account, namespace, {"spec": {"expirationSeconds": 600}})
    settings = client.Configuration()
    settings.host = plane.server
    settings.ssl_ca_cert = str(plane.ca_file)
    # "BearerToken" is the key kubernetes>=36's generated client reads, "authorization" the older one's.
    settings.api_key = {"BearerToken": request.status.token, "authorization": request.status.token}
    settings.api_key_prefix = {"BearerToken": "Bearer", "authorization": "Bearer"}
    settings.retries = 0
    return client.ApiClient(settings)


def test_the_apps_service_account_may_do_what_rollouts_call(control_plane: ControlPlane, installed: Installed,
                                                            quickstart: Path) -> None:  # fmt: skip
    api = service_account_client(control_plane, installed.namespace, "mlpipex-app")
    whoami = client.AuthenticationV1Api(api).create_self_subject_review({})
    assert whoami.status.user_info.username == f"system:serviceaccount:{installed.namespace}:mlpipex-app"
    cluster = Cluster(api, retries=0)
    assert cluster.crd().problems(without_model_name(mlpipex_service(quickstart, installed.models))) == []
    crd, image, configmap = cluster.kserve_facts(KSERVE_NAMESPACE)
    assert crd is not None and crd["metadata"]["name"] == "inferenceservices.serving.kserve.io"
    assert image == "kserve/kserve-controller:v0.20.0"
    assert configmap is not None and "deploy" in configmap["data"]
    service = without_model_name(mlpipex_service(quickstart, installed.models))
    name = service["metadata"]["name"]
    created = cluster.apply(service)  # server-side apply creating the object (KServe's webhooks admit it)
    assert created["metadata"]["name"] == name
    service["metadata"].setdefault("annotations", {})["mlpipex.dev/note"] = "second apply"
    cluster.apply(service)  # ...and patching it
    assert cluster.get(installed.models, name)["metadata"]["annotations"]["mlpipex.dev/note"] == "second apply"
    assert cluster.get(installed.models, "no-such-model") is None
    # deploy.traffic's HTTPRoute: read, created and patched by server-side apply, as a rollout step does.
    traffic = TrafficConfig.model_validate({"gateway": {"name": "edge"}})
    assert cluster.get_route(installed.models, name) is None
    cluster.apply_route(build_http_route(service, traffic, owner_uid=created["metadata"]["uid"]))
    cluster.apply_route(build_http_route(service, traffic, weights=[(f"{name}-predictor", 100)]))
    assert weights_of(cluster.get_route(installed.models, name)) == [(f"{name}-predictor", 100)]


def test_the_app_connects_in_cluster_as_its_pod_would_and_rolls_out(control_plane: ControlPlane, installed: Installed,
                                                                     quickstart: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    """Cluster.connect() with no kubeconfig, as in the App's pod: the projected token and CA files and the
    KUBERNETES_SERVICE_* variables the kubelet provides (here: the TokenRequest token, loopback); then a
    first rollout step reaches KServe's Ready through that identity."""
    from kubernetes.config import incluster_config

    core = client.CoreV1Api(control_plane.api_client())
    token = core.create_namespaced_service_account_token("mlpipex-app", installed.namespace,
                                                         {"spec": {"expirationSeconds": 600}}).status.token  # fmt: skip
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_bytes(Path(control_plane.ca_file).read_bytes())
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(control_plane.port))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config, as in the image (HOME=/nonexistent)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    cluster = Cluster.connect()
    assert cluster.name == "this cluster (in-cluster)"
    service = without_model_name(mlpipex_service(quickstart, installed.models))
    service["metadata"]["name"] = f"incluster-{uuid.uuid4().hex[:6]}"
    cluster.apply(service)
    ready = cluster.wait_ready(installed.models, service["metadata"]["name"], timeout=90, poll=0.5)
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in ready["status"]["conditions"])


def test_what_the_app_never_needs_is_refused_with_403(control_plane: ControlPlane, installed: Installed,
                                                      quickstart: Path) -> None:  # fmt: skip
    api = service_account_client(control_plane, installed.namespace, "mlpipex-app")
    core = client.CoreV1Api(api)
    refusals: dict[str, int] = {}
    calls: dict[str, Callable[[], Any]] = {
        "list secrets in the model namespace": lambda: core.list_namespaced_secret(installed.models),
        "read the App's own Secret": lambda: core.read_namespaced_secret("mlpipex-app", installed.namespace),
        "delete the model namespace": lambda: core.delete_namespace(installed.models),
        "list InferenceServices": lambda: client.CustomObjectsApi(api).list_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", installed.models, "inferenceservices"),
        "delete an InferenceService": lambda: client.CustomObjectsApi(api).delete_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", installed.models, "inferenceservices", "any"),
        "read another ConfigMap in KServe's namespace": lambda: core.read_namespaced_config_map("kube-root-ca.crt",
                                                                                                 KSERVE_NAMESPACE),
        "read another CRD": lambda: client.ApiextensionsV1Api(api).read_custom_resource_definition(
            "clusterservingruntimes.serving.kserve.io"),
        "create a pod": lambda: core.create_namespaced_pod(installed.models, {"metadata": {"name": "x"},
                                                           "spec": {"containers": [{"name": "x", "image": "x"}]}}),
        "read a pod's log": lambda: core.read_namespaced_pod_log("x", installed.models),
        "list pods outside the model namespaces": lambda: core.list_namespaced_pod("default"),
        "list HTTPRoutes": lambda: client.CustomObjectsApi(api).list_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", installed.models, "httproutes"),
        "delete an HTTPRoute": lambda: client.CustomObjectsApi(api).delete_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", installed.models, "httproutes", "any"),
        "write an HTTPRoute's status": lambda: client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            "gateway.networking.k8s.io", "v1", installed.models, "httproutes", "any", {"status": {}}),
        "read an HTTPRoute outside the model namespaces": lambda: client.CustomObjectsApi(api).get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", "default", "httproutes", "any"),
    }  # fmt: skip
    for what, call in calls.items():
        try:
            call()
            refusals[what] = 200
        except ApiException as error:
            refusals[what] = error.status
    assert refusals == dict.fromkeys(calls, 403)
    core.list_namespaced_pod(installed.models)  # allowed: only to quote the scheduler when a step is not Ready
    # Through mlpipex's own client: a namespace outside modelNamespaces is refused, said in plain words.
    elsewhere = without_model_name(mlpipex_service(quickstart, "default"))
    with pytest.raises(ExternalError, match="refused applying default/"):
        Cluster(api, retries=0).apply(elsewhere)


def test_the_create_grant_is_needed_by_server_side_apply(control_plane: ControlPlane, installed: Installed,
                                                         quickstart: Path) -> None:  # fmt: skip
    """Least privilege both ways: without `create`, the apply that makes a new InferenceService is refused."""
    rbac = client.RbacAuthorizationV1Api(control_plane.api_client())
    role_name = f"mlpipex-app-rollouts-{installed.namespace}"
    role = rbac.read_cluster_role(role_name)
    original = role.rules[0].verbs
    assert sorted(original) == ["create", "get", "patch"]
    api = service_account_client(control_plane, installed.namespace, "mlpipex-app")
    service = without_model_name(mlpipex_service(quickstart, installed.models))
    service["metadata"]["name"] = f"nocreate-{uuid.uuid4().hex[:6]}"
    rbac.patch_cluster_role(role_name, {"rules": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                                                   "verbs": ["get", "patch"]}]})  # fmt: skip
    try:
        def refused() -> bool:
            try:
                Cluster(api, retries=0).apply(service)
            except ExternalError as error:
                return "refused" in str(error)
            client.CustomObjectsApi(control_plane.api_client()).delete_namespaced_custom_object(
                "serving.kserve.io", "v1beta1", installed.models, "inferenceservices", service["metadata"]["name"])
            return False

        wait_for(refused, 20, "the apply of a new InferenceService to be refused without create")
    finally:
        rbac.patch_cluster_role(role_name, {"rules": [{"apiGroups": ["serving.kserve.io"],
                                                       "resources": ["inferenceservices"], "verbs": original}]})  # fmt: skip


def test_the_monitors_service_account_has_no_rights(control_plane: ControlPlane, installed: Installed) -> None:
    api = service_account_client(control_plane, installed.namespace, "mlpipex-monitor")
    with pytest.raises(ExternalError, match="refused reading"):
        Cluster(api, retries=0).get(installed.models, "anything")
    pods = client.CoreV1Api(control_plane.api_client()).list_namespaced_pod(
        installed.namespace, label_selector="app.kubernetes.io/component=monitor").items  # fmt: skip
    assert pods and all(p.spec.automount_service_account_token is False for p in pods)


def test_the_monitor_with_cluster_history_may_read_inferenceservices_and_nothing_more(
        control_plane: ControlPlane, installed: Installed, helm: Callable[..., Any], quickstart: Path) -> None:  # fmt: skip
    """monitor.cluster (the dashboard's rollout history, Cluster.get) in an install of the monitor alone."""
    namespace = f"monitor-{uuid.uuid4().hex[:6]}"
    create_namespace(control_plane.api_client(), namespace)
    values_file = control_plane.dir / f"values-{namespace}.yaml"
    values_file.write_text(yaml.safe_dump({"modelNamespaces": [installed.models], "app": {"enabled": False},
                                           "monitor": {"cluster": {"enabled": True}}}))  # fmt: skip
    result = helm("install", "history", str(CHART), "--namespace", namespace, "--values", str(values_file), "--wait",
                  "--timeout", "120s")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        admin = Cluster(control_plane.api_client(), retries=0)
        service = without_model_name(mlpipex_service(quickstart, installed.models))
        service["metadata"]["name"] = f"history-{uuid.uuid4().hex[:6]}"
        admin.apply(service)
        api = service_account_client(control_plane, namespace, "history-mlpipex-monitor")
        monitor = Cluster(api, retries=0)
        assert monitor.get(installed.models, service["metadata"]["name"])["metadata"]["name"] == service["metadata"]["name"]
        with pytest.raises(ExternalError, match="refused applying"):
            monitor.apply(service)
        with pytest.raises(ExternalError, match="refused reading"):
            monitor.get(namespace, "anything")  # outside modelNamespaces
    finally:
        helm("uninstall", "history", "--namespace", namespace, "--wait", "--timeout", "60s")
        client.CoreV1Api(control_plane.api_client()).delete_namespace(namespace)
