"""Helm against the test control plane: a chart installs and `--wait` sees its Deployment
become available (pods run under KWOK). The base for installing mlpipex's own chart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

from .controlplane import ControlPlane

pytestmark = pytest.mark.timeout(300)


def test_helm_installs_a_chart_and_waits_for_it(control_plane: ControlPlane, helm: Callable[..., object],
                                                tmp_path: Path) -> None:  # fmt: skip
    created = helm("create", "demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    lint = helm("lint", str(tmp_path / "demo"))
    assert lint.returncode == 0 and "1 chart(s) linted, 0 chart(s) failed" in lint.stdout, lint.stdout + lint.stderr
    namespace = f"helm-{uuid.uuid4().hex[:8]}"
    installed = helm("install", "demo", str(tmp_path / "demo"), "--namespace", namespace, "--create-namespace",
                     "--wait", "--timeout", "120s")  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "STATUS: deployed" in installed.stdout
    apps = client.AppsV1Api(control_plane.api_client())
    deployment = apps.read_namespaced_deployment("demo", namespace)
    assert deployment.status.available_replicas == 1
    listed = helm("list", "--namespace", namespace, "--output", "json")
    assert '"status":"deployed"' in listed.stdout
    uninstalled = helm("uninstall", "demo", "--namespace", namespace, "--wait")
    assert uninstalled.returncode == 0, uninstalled.stderr
