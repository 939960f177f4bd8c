"""deploy/helm/mlpipex, the one source of the App's and the monitor's Kubernetes objects (issue 16):
rendered by the real Helm, every object valid for Kubernetes (its OpenAPI schemas, strict), least
privilege RBAC, probes on the routes the services really serve, secrets by reference, the App's
settings and the monitor's flags as mlpipex itself parses them, values checked by the schema.

The install into a real API server, and the RBAC checked there with the ServiceAccount's own
token, are in tests/cluster/test_chart.py."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipex.app.settings import Settings

from .chart import CHART, ROOT, Helm, component, container, granted, of_kind

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is missing (pip install -e '.[test]')")

KUBERNETES_VERSIONS = ("1.25.0", "1.29.0", "1.34.0")  # the oldest minor the chart README promises, and newer ones
CRD = "inferenceservices.serving.kserve.io"

# Everything optional switched on: the objects must be valid in this form too.
FULL: dict[str, Any] = {
    "modelNamespaces": ["models", "models-eu"],
    "app": {"image": {"digest": "sha256:" + "a" * 64}, "settings": {"allowed_repositories": "octo-org/models",
                                                                    "gate_app_ids": "1,2"}},
    "monitor": {"cluster": {"enabled": True}, "schedule": "30s", "references": {"fraud": "/etc/profiles/fraud.json"},
                "models": {"fraud": {"model": {"name": "fraud"}}},
                "auth": {"metricsAuth": True, "tokens": [
                    {"name": "app", "key": "app", "scopes": ["read"]},
                    {"name": "kserve-fraud", "key": "kserve-fraud", "scopes": ["ingest"], "services": ["fraud"]},
                    {"name": "prometheus", "key": "prometheus", "scopes": ["metrics"]}]},
                "persistence": {"existingClaim": "monitor-state"},
                "networkPolicy": {"extraFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}},
    "image": {"pullSecrets": ["registry-credentials"]},
}


@pytest.fixture(scope="module")
def objects(helm_cli: Helm) -> list[dict[str, Any]]:
    return helm_cli.render()


@pytest.fixture(scope="module")
def full(helm_cli: Helm) -> list[dict[str, Any]]:
    return helm_cli.render(FULL)


def test_helm_lint_strict_is_clean(helm_cli: Helm) -> None:
    for values in ({}, FULL):
        args = ["lint", "--strict", str(CHART)] + (["--values", str(helm_cli.values_file(values))] if values else [])
        result = helm_cli.run(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
        assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_kubernetes(objects: list[dict[str, Any]], full: list[dict[str, Any]], version: str) -> None:
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
            "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"} <= kinds  # fmt: skip
    for obj in objects + full:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


@pytest.mark.parametrize("values", [
    {"app": {"enabled": False}}, {"monitor": {"enabled": False}}, {"monitor": {"auth": {"disabled": True}}},
    {"rbac": {"create": False}}, {"app": {"serviceAccount": {"create": False, "name": "own"}}, "modelNamespaces": []},
])  # fmt: skip
def test_each_switch_renders_valid_objects(helm_cli: Helm, values: dict[str, Any]) -> None:
    lint = helm_cli.run("lint", "--strict", str(CHART), "--values", str(helm_cli.values_file(values)))
    assert lint.returncode == 0 and "[WARNING]" not in lint.stdout, lint.stdout + lint.stderr
    objects = helm_cli.render(values)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)
    if values.get("monitor", {}).get("auth", {}).get("disabled"):
        assert "--no-auth" in container(component(objects, "Deployment", "monitor"))["args"]


def test_the_validation_catches_a_broken_deployment(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(component(objects, "Deployment", "app"))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


# What mlpipex.kserve.cluster.Cluster calls, and nothing more: (apiGroup, resource, verb, name).
APP_GRANTS = {
    ("serving.kserve.io", "inferenceservices", "get", "*"),  # Cluster.get
    ("serving.kserve.io", "inferenceservices", "patch", "*"),  # Cluster.apply: server-side apply
    ("serving.kserve.io", "inferenceservices", "create", "*"),  # ...which creates a new object
    ("", "pods", "list", "*"),  # Cluster.unscheduled_pods: the scheduler's reason when a step is not Ready
    ("gateway.networking.k8s.io", "httproutes", "get", "*"),  # Cluster.get_route (deploy.traffic)
    ("gateway.networking.k8s.io", "httproutes", "patch", "*"),  # Cluster.apply_route: server-side apply
    ("gateway.networking.k8s.io", "httproutes", "create", "*"),  # ...which creates the route
    ("apiextensions.k8s.io", "customresourcedefinitions", "get", CRD),  # Cluster.crd, kserve_facts
    ("apps", "deployments", "get", "kserve-controller-manager"),  # kserve_facts: the controller's image
    ("", "configmaps", "get", "inferenceservice-config"),  # kserve_facts: KServe's settings
}


def test_rbac_is_least_privilege(objects: list[dict[str, Any]], full: list[dict[str, Any]]) -> None:
    app_roles = [r for r in of_kind(objects, "ClusterRole") + of_kind(objects, "Role")
                 if r["metadata"]["labels"]["app.kubernetes.io/component"] == "app"]  # fmt: skip
    assert granted(objects, app_roles) == APP_GRANTS
    assert granted(objects) == APP_GRANTS, "the monitor has no rights without monitor.cluster"
    monitor_roles = [r for r in of_kind(full, "ClusterRole") if r["metadata"]["labels"]["app.kubernetes.io/component"] == "monitor"]
    assert granted(full, monitor_roles) == {("serving.kserve.io", "inferenceservices", "get", "*")}  # the history only
    for role in of_kind(full, "ClusterRole") + of_kind(full, "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], f"wildcard in {role['metadata']['name']}"
            assert "nonResourceURLs" not in rule
            assert "secrets" not in rule["resources"]
    # Cluster-wide bindings carry only rules limited to named objects; the rest is bound per namespace.
    roles = {r["metadata"]["name"]: r for r in of_kind(full, "ClusterRole")}
    for binding in of_kind(full, "ClusterRoleBinding"):
        assert all(rule.get("resourceNames") for rule in roles[binding["roleRef"]["name"]]["rules"]), binding["metadata"]["name"]
    for role in of_kind(full, "Role"):
        assert role["metadata"]["namespace"] == "kserve" and all(rule.get("resourceNames") for rule in role["rules"])


def test_rollout_rights_are_bound_in_each_model_namespace_only(full: list[dict[str, Any]]) -> None:
    bindings = [b for b in of_kind(full, "RoleBinding") if b["roleRef"]["kind"] == "ClusterRole"]
    app = {b["metadata"]["namespace"] for b in bindings if b["metadata"]["labels"]["app.kubernetes.io/component"] == "app"}
    monitor = {b["metadata"]["namespace"] for b in bindings if b["metadata"]["labels"]["app.kubernetes.io/component"] == "monitor"}
    assert app == monitor == {"models", "models-eu"}


def test_bindings_name_the_components_service_accounts(full: list[dict[str, Any]]) -> None:
    accounts = {a["metadata"]["labels"]["app.kubernetes.io/component"]: a["metadata"]["name"] for a in of_kind(full, "ServiceAccount")}
    for name, account in accounts.items():
        pod = component(full, "Deployment", name)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == account
    kinds = {r["metadata"]["name"]: r["kind"] for r in of_kind(full, "ClusterRole") + of_kind(full, "Role")}
    for binding in of_kind(full, "RoleBinding") + of_kind(full, "ClusterRoleBinding"):
        assert kinds[binding["roleRef"]["name"]] == binding["roleRef"]["kind"]
        owner = binding["metadata"]["labels"]["app.kubernetes.io/component"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": accounts[owner], "namespace": "mlpipex"}]


def test_the_monitor_gets_no_kubernetes_token_unless_it_reads_the_cluster(objects: list[dict[str, Any]],
                                                                         full: list[dict[str, Any]]) -> None:  # fmt: skip
    assert component(objects, "Deployment", "monitor")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert component(objects, "ServiceAccount", "monitor")["automountServiceAccountToken"] is False
    assert component(full, "Deployment", "monitor")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert "--cluster" in container(component(full, "Deployment", "monitor"))["args"]


@pytest.mark.parametrize("name", ["app", "monitor"])
def test_deployments_run_non_root_read_only_with_tmp_probes_and_resources(objects: list[dict[str, Any]], name: str) -> None:
    pod = component(objects, "Deployment", name)["spec"]["template"]["spec"]
    box = container(component(objects, "Deployment", name))
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert box["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                      "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}  # fmt: skip
    tmp = next(m for m in box["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert {"requests", "limits"} <= set(box["resources"]) and box["resources"]["limits"]["memory"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert box[probe]["httpGet"]["port"] == "http"
    assert box["ports"] == [{"name": "http", "containerPort": box["ports"][0]["containerPort"], "protocol": "TCP"}]


def test_probes_and_services_reach_the_routes_the_services_serve(objects: list[dict[str, Any]]) -> None:
    """The kubelet's probes carry no token: each probed path must answer 200 without one, auth on."""
    from fastapi.testclient import TestClient

    from mlpipex.app import create_app
    from mlpipex.app.registry import HandlerRegistry
    from mlpipex.monitor import MonitorAuth, MonitorSettings, Token, create_monitor_app

    probed = {name: {container(component(objects, "Deployment", name))[p]["httpGet"]["path"]
                     for p in ("startupProbe", "livenessProbe", "readinessProbe")} for name in ("app", "monitor")}  # fmt: skip
    answers: dict[str, dict[str, int]] = {"app": {}, "monitor": {}}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(webhook_secret="x", worker_threads=0, database_url=f"sqlite:///{tmp}/a.db",
                                  api_token="t" * 32), registry=HandlerRegistry())  # fmt: skip
        with TestClient(app) as http:
            answers["app"] = {path: http.get(path).status_code for path in probed["app"]}
        auth = MonitorAuth((Token.of("k", "k" * 32),), open_metrics=False)
        monitor = create_monitor_app(MonitorSettings(state_dir=Path(tmp) / "m", auth=auth))
        with TestClient(monitor) as http:
            answers["monitor"] = {path: http.get(path).status_code for path in probed["monitor"]}
            assert http.get("/api/v1/windows").status_code == 401  # while the rest needs a token
    assert answers == {"app": {"/healthz": 200, "/readyz": 200}, "monitor": {"/healthz": 200}}
    for name in ("app", "monitor"):
        deployment = component(objects, "Deployment", name)
        service = component(objects, "Service", name)
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    app_box = container(component(objects, "Deployment", "app"))
    assert app_box["readinessProbe"]["httpGet"]["path"] == "/readyz"  # the database answers, not only the process
    assert app_box["args"][-2:] == ["--port", str(app_box["ports"][0]["containerPort"])]


def test_secrets_are_referenced_never_shipped(full: list[dict[str, Any]]) -> None:
    assert of_kind(full, "Secret") == []
    box = container(component(full, "Deployment", "app"))
    env = {e["name"]: e for e in box["env"]}
    for name in ("MLPIPEX_APP_ID", "MLPIPEX_WEBHOOK_SECRET", "MLPIPEX_DATABASE_URL", "MLPIPEX_ALERT_TOKEN",
                 "MLPIPEX_API_TOKEN", "MLPIPEX_MONITOR_TOKEN"):  # fmt: skip
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"], name
    assert env["MLPIPEX_MONITOR_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "mlpipex-monitor-tokens", "key": "app",
                                                                          "optional": True}  # fmt: skip
    pod = component(full, "Deployment", "app")["spec"]["template"]["spec"]
    key_path = Path(env["MLPIPEX_PRIVATE_KEY_PATH"]["value"])
    mount = next(m for m in box["volumeMounts"] if m["mountPath"] == str(key_path.parent))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "mlpipex-app" and volume["secret"]["items"][0]["path"] == key_path.name
    assert mount["readOnly"] is True and volume["secret"]["defaultMode"] == 0o440
    monitor_pod = component(full, "Deployment", "monitor")["spec"]["template"]["spec"]
    tokens = next(v for v in monitor_pod["volumes"] if v["name"] == "tokens")
    assert tokens["secret"]["secretName"] == "mlpipex-monitor-tokens"
    assert [i["key"] for i in tokens["secret"]["items"]] == ["app", "kserve-fraud", "prometheus"]


def test_the_apps_settings_come_from_values_and_parse_as_the_app_reads_them(full: list[dict[str, Any]],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    fields = set(Settings.model_fields)
    secrets = {"app_id", "private_key_path", "webhook_secret", "database_url", "alert_token", "api_token"}
    chart_set = {"worker_threads", "kubeconfig"}  # workerThreads; kubeconfig: in-cluster
    documented = set(schema["properties"]["app"]["properties"]["settings"]["properties"])
    assert set(values["app"]["settings"]) <= documented <= fields
    assert documented == fields - secrets - chart_set, "a setting of the App is missing from the chart's values"
    env = {e["name"]: e for e in container(component(full, "Deployment", "app"))["env"]}
    assert set(env) <= {f"MLPIPEX_{f.upper()}" for f in fields} | {"MLPIPEX_MONITOR_TOKEN", "TMPDIR"}
    for name, entry in env.items():
        if "value" in entry and name.startswith("MLPIPEX_"):
            monkeypatch.setenv(name, entry["value"])
    monkeypatch.setenv("MLPIPEX_WEBHOOK_SECRET", "x" * 32)
    settings = Settings()  # the rendered text as pydantic reads it: 26214400, not 2.62144e+07
    assert settings.max_body_bytes == values["app"]["settings"]["max_body_bytes"]
    assert settings.allowed_repositories == ["octo-org/models"] and settings.gate_app_ids == [1, 2]
    assert settings.metrics_url == "http://mlpipex-monitor.mlpipex.svc:8090"  # the chart's monitor by default
    assert settings.worker_threads == values["app"]["workerThreads"]


def test_the_monitor_runs_with_its_tokens_and_models_as_mlpipex_parses_them(full: list[dict[str, Any]], tmp_path: Path,
                                                                            quickstart: Path, helm_cli: Helm) -> None:  # fmt: skip
    from mlpipex.cli import build_parser
    from mlpipex.monitor import load_auth

    box = container(component(full, "Deployment", "monitor"))
    args = build_parser().parse_args(box["args"])  # the image's ENTRYPOINT is `mlpipex`
    assert (args.host, args.port, args.metrics_auth, args.no_auth) == ("0.0.0.0", 8090, True, False)
    assert args.reference == ["fraud=/etc/profiles/fraud.json"] and args.schedule == "30s"
    mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
    assert Path(args.tokens).parent.as_posix() in mounts and Path(args.state).as_posix() in mounts
    assert args.config == ["/etc/mlpipex-monitor/models/fraud.yaml"]
    (configmap,) = of_kind(full, "ConfigMap")
    tokens_file = tmp_path / "tokens.yaml"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for key in ("app", "kserve-fraud", "prometheus"):
        (secrets / key).write_text(f"{key}-token-0123456789abcdef\n")
    tokens_file.write_text(configmap["data"]["tokens.yaml"].replace("/var/run/secrets/mlpipex-monitor", str(secrets)))
    auth = load_auth(str(tokens_file), environ={}, open_metrics=not args.metrics_auth)
    assert [(t.name, sorted(t.scopes), t.services) for t in auth.tokens] == [
        ("app", ["read"], None), ("kserve-fraud", ["ingest"], frozenset({"fraud"})), ("prometheus", ["metrics"], None)]
    assert auth.identify("kserve-fraud-token-0123456789abcdef").name == "kserve-fraud"  # type: ignore[union-attr]
    assert yaml.safe_load(configmap["data"]["model-fraud.yaml"]) == {"model": {"name": "fraud"}}
    # A model's mlpipex.yaml as text (--set-file) is kept byte for byte.
    text = (quickstart / "mlpipex.yaml").read_text()
    (as_text,) = of_kind(helm_cli.render({"monitor": {"models": {"quickstart": text}}}), "ConfigMap")
    assert as_text["data"]["model-quickstart.yaml"].strip() == text.strip()


def test_network_policies_open_the_app_and_admit_only_kserves_loggers_to_the_monitor(full: list[dict[str, Any]]) -> None:
    app = component(full, "NetworkPolicy", "app")["spec"]
    assert app["policyTypes"] == ["Ingress"] and app["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    monitor = component(full, "NetworkPolicy", "monitor")["spec"]
    assert monitor["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "monitor"
    (rule,) = monitor["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    loggers, the_app, prometheus = rule["from"]
    assert loggers["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["models", "models-eu"]}]
    assert loggers["podSelector"]["matchExpressions"] == [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]
    assert the_app["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "app"
    assert prometheus == {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}


def test_the_pod_disruption_budget_keeps_an_app_replica_and_never_blocks_a_single_monitor(objects: list[dict[str, Any]],
                                                                                          helm_cli: Helm) -> None:  # fmt: skip
    (pdb,) = of_kind(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == component(objects, "Deployment", "app")["spec"]["selector"]["matchLabels"]
    assert of_kind(helm_cli.render({"app": {"replicas": 1}}), "PodDisruptionBudget") == []


def test_images_are_pinned_by_digest_when_given(objects: list[dict[str, Any]], full: list[dict[str, Any]]) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert container(component(objects, "Deployment", "app"))["image"] == f"ghcr.io/mlpipex/mlpipex-app:{chart['appVersion']}"
    assert container(component(full, "Deployment", "app"))["image"] == "ghcr.io/mlpipex/mlpipex-app@sha256:" + "a" * 64


@pytest.mark.parametrize(("values", "message"), [
    ({"app": {"replcas": 3}}, "additional properties 'replcas' not allowed"),
    ({"containerSecurityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
    ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
    ({"monitor": {"auth": {"tokens": [{"name": "x", "key": "x", "scopes": ["admin"]}]}}}, "scopes"),
    ({"monitor": {"replicas": 2}}, "monitor.replicas > 1"),
    ({"monitor": {"kafka": {"enabled": True}}}, "monitor.kafka.enabled"),
    ({"monitor": {"auth": {"tokens": []}}}, "monitor.auth.tokens is empty"),
    ({"app": {"image": {"digest": "latest"}}}, "digest"),
])  # fmt: skip
def test_bad_values_are_refused_with_the_field_named(helm_cli: Helm, values: dict[str, Any], message: str) -> None:
    result = helm_cli.template(values)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_the_chart_is_the_one_source_of_the_manifests() -> None:
    assert not (ROOT / "app" / "deploy").exists(), "app/deploy/ (kustomize) was replaced by deploy/helm/mlpipex"
    readme = (ROOT / "README.md").read_text()
    assert "helm install" in readme and "deploy/helm/mlpipex" in readme and "kubectl apply -k" not in readme
    chart_readme = (CHART / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for key in values["app"]["secretKeys"].values():
        assert key in chart_readme, f"the chart README does not say how to create the Secret key {key}"


def test_the_monitor_as_the_chart_runs_it_wants_a_token_and_takes_kserves_url_form(full: list[dict[str, Any]],
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    """The real `mlpipex monitor serve` with the chart's args and tokens file (paths moved into tmp, loopback
    instead of 0.0.0.0): events without a token 401, KServe's logger URL form http://kserve:TOKEN@… accepted for
    its own service only, /healthz open for the kubelet, /metrics closed with metricsAuth."""
    import base64
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from tests.monitor._kserve_events import headers, v1_request

    box = container(component(full, "Deployment", "monitor"))
    (configmap,) = of_kind(full, "ConfigMap")
    secrets, config = tmp_path / "secrets", tmp_path / "config"
    secrets.mkdir()
    (config / "models").mkdir(parents=True)
    tokens = {key: f"{key}-{os.urandom(12).hex()}" for key in ("app", "kserve-fraud", "prometheus")}
    for key, token in tokens.items():
        (secrets / key).write_text(token)
    (config / "tokens.yaml").write_text(configmap["data"]["tokens.yaml"].replace("/var/run/secrets/mlpipex-monitor", str(secrets)))
    (config / "models" / "fraud.yaml").write_text(configmap["data"]["model-fraud.yaml"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [a.replace("/etc/mlpipex-monitor", str(config)).replace("/var/lib/mlpipex-monitor", str(tmp_path / "state"))
            .replace("--host=0.0.0.0", "--host=127.0.0.1").replace("--port=8090", f"--port={port}")
            for a in box["args"] if not a.startswith(("--config=", "--reference=", "--cluster"))]  # fmt: skip
    process = subprocess.Popen([str(Path(sys.executable).parent / "mlpipex"), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={k: v for k, v in os.environ.items() if not k.startswith("MLPIPEX_MONITOR_TOKEN")})  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the monitor did not answer /healthz"
            time.sleep(0.2)
        event = headers("e-1", "request", when=time.time(), service="fraud")
        body = v1_request([[1.0, 2.0]])
        as_logger = "Basic " + base64.b64encode(f"kserve:{tokens['kserve-fraud']}".encode()).decode()
        assert httpx.post(f"{base}/events", headers=event, content=body).status_code == 401
        assert httpx.post(f"{base}/events", headers={**event, "authorization": as_logger}, content=body).status_code == 200
        other = headers("e-2", "request", when=time.time(), service="other")
        assert httpx.post(f"{base}/events", headers={**other, "authorization": as_logger}, content=body).status_code == 403
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/metrics", headers={"authorization": f"Bearer {tokens['prometheus']}"}).status_code == 200
        assert httpx.get(f"{base}/api/v1/windows", headers={"authorization": f"Bearer {tokens['app']}"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_installs_serving_one_model_namespace_do_not_collide(helm_cli: Helm) -> None:
    """Cluster-scoped objects and bindings in shared namespaces (the models', KServe's) are named per release."""
    def keys(namespace: str) -> set[tuple[str, str, str]]:
        objects = helm_cli.render({"modelNamespaces": ["models"]}, release="mlpipex", namespace=namespace)
        return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}

    staging, production = keys("mlpipex-staging"), keys("mlpipex-production")
    assert staging.isdisjoint(production), staging & production
