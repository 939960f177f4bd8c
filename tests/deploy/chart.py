"""The mlpipex Helm chart (deploy/helm/mlpipex) rendered by the real Helm (built from its Go module
into .cache-go/ by tests/cluster/build.py), for the static tests here and the install tests in
tests/cluster/test_chart.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "mlpipex"
KUBE_VERSION = "1.34.4"  # the test control plane's (tests/cluster/build.py KUBERNETES_VERSION)


class Helm:
    """One Helm binary with its state (cache, config, data) in ``home``."""

    def __init__(self, binary: Path, home: Path, kubeconfig: Path | None = None) -> None:
        self.binary = binary
        self.env = dict(os.environ, HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
                        HELM_DATA_HOME=str(home / "data"))  # fmt: skip
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)
        self.home = home

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)  # fmt: skip

    def values_file(self, values: Mapping[str, Any]) -> Path:
        path = self.home / f"values-{hashlib.sha256(yaml.safe_dump(dict(values), sort_keys=True).encode()).hexdigest()[:12]}.yaml"
        path.write_text(yaml.safe_dump(dict(values)))
        return path

    def template(self, values: Mapping[str, Any] | None = None, *, release: str = "mlpipex",
                 namespace: str = "mlpipex") -> subprocess.CompletedProcess[str]:  # fmt: skip
        args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
        if values:
            args += ["--values", str(self.values_file(values))]
        return self.run(*args)

    def render(self, values: Mapping[str, Any] | None = None, **kwargs: str) -> list[dict[str, Any]]:
        """Every object ``helm template`` makes with these values (a failed render fails the test)."""
        result = self.template(values, **kwargs)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def component(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` whose component label is ``name`` (app or monitor)."""
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["labels"].get("app.kubernetes.io/component") == name]
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def granted(objects: list[dict[str, Any]], roles: list[dict[str, Any]] | None = None) -> set[tuple[str, str, str, str]]:
    """(apiGroup, resource, verb, resourceName or '*') of every rule of the Roles and ClusterRoles."""
    out = set()
    for role in roles if roles is not None else of_kind(objects, "ClusterRole") + of_kind(objects, "Role"):
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or ["*"]:
                            out.add((group, resource, verb, name))
    return out
