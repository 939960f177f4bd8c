"""app/deploy/: valid Kubernetes objects (the Kubernetes OpenAPI schemas, strict), least-privilege RBAC."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipex.app.settings import Settings

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is missing (pip install -e '.[test]')")

DEPLOY = Path(__file__).resolve().parents[2] / "app" / "deploy"
KUBERNETES_VERSIONS = ("1.29.0", "1.33.0")  # an older and a recent minor the manifests must both fit


@functools.lru_cache(maxsize=1)
def objects() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        found += [(name, doc) for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]
    return found


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [o for _, o in objects() if o["kind"] == kind]


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_kubernetes(version: str) -> None:
    assert objects()
    for name, obj in objects():
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


# What a rollout needs, and nothing more (apiGroup, resource, verb).
ALLOWED = {("serving.kserve.io", "inferenceservices", v) for v in ("get", "list", "watch", "create", "update", "patch")} | {
    ("", "events", "create"), ("", "events", "patch"), ("", "pods", "get"), ("", "pods", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "get"),
}  # fmt: skip


def test_rbac_is_least_privilege() -> None:
    granted = set()
    for role in of_kind("ClusterRole") + of_kind("Role"):
        for rule in role["rules"]:
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], f"wildcard in {role['metadata']['name']}"
            assert "nonResourceURLs" not in rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted |= {(group, resource, verb) for verb in rule["verbs"]}
            if rule["resources"] == ["customresourcedefinitions"]:
                assert rule["resourceNames"] == ["inferenceservices.serving.kserve.io"], "only KServe's CRD may be read"
    assert granted == ALLOWED
    assert not any(resource in ("secrets", "configmaps", "deployments") for _, resource, _ in granted)
    # The cluster-wide binding carries only the one-CRD reader; rollouts are bound per namespace.
    for binding in of_kind("ClusterRoleBinding"):
        role = next(r for r in of_kind("ClusterRole") if r["metadata"]["name"] == binding["roleRef"]["name"])
        assert all(rule.get("resourceNames") for rule in role["rules"]), "a ClusterRoleBinding must not grant unnamed objects"


def test_bindings_name_the_apps_service_account() -> None:
    [account] = of_kind("ServiceAccount")
    [deployment] = of_kind("Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    roles = {r["metadata"]["name"] for r in of_kind("ClusterRole")}
    for binding in of_kind("RoleBinding") + of_kind("ClusterRoleBinding"):
        assert binding["roleRef"]["name"] in roles
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                        "namespace": account["metadata"]["namespace"]}]  # fmt: skip


def test_the_deployment_runs_non_root_with_probes_resources_and_secrets_by_reference() -> None:
    [deployment] = of_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}  # fmt: skip
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert of_kind("Secret") == [], "secrets are referenced, never shipped"
    env = {e["name"]: e for e in container["env"]}
    fields = {f"MLPIPEX_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, f"unknown settings: {set(env) - fields}"
    for secret in ("MLPIPEX_WEBHOOK_SECRET", "MLPIPEX_DATABASE_URL", "MLPIPEX_ALERT_TOKEN", "MLPIPEX_API_TOKEN"):
        assert "value" not in env[secret] and env[secret]["valueFrom"]["secretKeyRef"]["name"] == "mlpipex-app"
    key_path = Path(env["MLPIPEX_PRIVATE_KEY_PATH"]["value"])
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(key_path.parent))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "mlpipex-app" and volume["secret"]["items"][0]["path"] == key_path.name
    assert mount["readOnly"] is True


def test_the_service_and_probes_reach_the_served_routes() -> None:
    from mlpipex.app import create_app
    from mlpipex.app.registry import HandlerRegistry

    [service] = of_kind("Service")
    [deployment] = of_kind("Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    port = container["ports"][0]["containerPort"]
    assert container["command"][-2:] == ["--port", str(port)]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(webhook_secret="x", worker_threads=0, database_url=f"sqlite:///{tmp}/a.db"),
                         registry=HandlerRegistry())  # fmt: skip
        paths = set(app.openapi()["paths"])
        app.state.mlpipex.store.close()
    assert {"/healthz", "/readyz"} <= paths


def test_the_validation_catches_a_broken_deployment() -> None:
    import copy

    [deployment] = of_kind("Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
