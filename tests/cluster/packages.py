"""Real packages in a real registry for the cluster tests, and the CLI run as a real process.

Model A is the quickstart's 1.1.0 model (accuracy 0.977); model B is its older
models/baseline.onnx shipped as 1.2.0 (accuracy 0.947: 3% worse, past the quickstart's 2%
limit). Both are gated, packaged with a modelcar image (a busybox-static base pushed to the
same registry) and pushed, so `mlpipex deploy` locates them as it does for a user:
deploy.storage `modelcar` reads each artifact's manifest from the registry and sends
``oci://REGISTRY/REPOSITORY@<modelcar image digest>``, which KServe v0.20.0 admits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipex.cli import main

from .objects import GPU_TOLERATION

REPOSITORY = "models/bc"
# What a user's deploy section says for the GPU pool (tests override keys).
GPU_DEPLOY: dict[str, Any] = {
    "mode": "Standard", "storage": "modelcar", "gpu": {"count": 1}, "cpu": "1", "memory": "2Gi",
    "node_selector": {"mlpipex.test/pool": "gpu"}, "tolerations": [GPU_TOLERATION], "replicas": {"min": 1, "max": 2},
}  # fmt: skip
# The CI's own variables would pick a provider that posts somewhere; the tests report locally.
_CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILD_URL", "GITHUB_TOKEN", "GITHUB_ACTOR")


@dataclass(frozen=True)
class Shipped:
    project: Path  # the quickstart (the cwd), its model now B
    registry: str  # host:port of the real registry
    a: str  # REGISTRY/REPOSITORY@sha256:… of model A (1.1.0)
    b: str  # … of model B (1.2.0, 3% less accurate)

    @property
    def target(self) -> str:
        return f"{self.registry}/{REPOSITORY}"

    def configure(self, environments: list[dict[str, Any]], **deploy: Any) -> Path:
        """Write mlpipex.yaml's deploy section (GPU_DEPLOY with ``deploy`` over it) and the package's registry."""
        path = self.project / "mlpipex.yaml"
        data = yaml.safe_load(path.read_text())
        data["package"] = {**data.get("package", {}), "registry": self.registry, "repository": REPOSITORY}
        data["deploy"] = {**GPU_DEPLOY, **deploy, "environments": environments}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def ship(project: Path, registry: str, capsys: pytest.CaptureFixture[str]) -> Shipped:
    """Package A and B (with a modelcar image on ``base``) and push both; the project's model is B after."""
    from mlpipex.oci import RegistryClient
    from tests.oci.modelcar_base import busybox_binary, busybox_layer, push_image

    base = push_image(RegistryClient(registry), "base/busybox", "1.35", [busybox_layer(busybox_binary(project.parent))])
    path = project / "mlpipex.yaml"

    def package_and_push(model: str, version: str, *, gated: bool) -> str:
        data = yaml.safe_load(path.read_text())
        data["model"].update(path=model, version=version)
        data["package"] = {**data.get("package", {}), "modelcar": {"base": base}}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        if gated:
            assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
            assert main(["package"]) == 0
        else:  # B fails the smoke thresholds: shipped without a gate report (the regression the compare gate must catch)
            assert main(["package", "--allow-ungated", "--report", str(project / "no-report.json")]) == 0
        capsys.readouterr()
        assert main(["push", "--to", f"{registry}/{REPOSITORY}"]) == 0
        captured = capsys.readouterr()
        assert "modelcar image" in captured.err, captured.err
        return captured.out.strip().splitlines()[-1]

    a = package_and_push("models/model.onnx", "1.1.0", gated=True)
    b = package_and_push("models/baseline.onnx", "1.2.0", gated=False)
    return Shipped(project, registry, a, b)


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def said(self) -> str:
        return self.out + self.err


def mlpipex(cwd: Path, *args: str, kubeconfig: Path | str | None = None, timeout: float = 180,
            env: dict[str, str] | None = None) -> Ran:  # fmt: skip
    """``python -m mlpipex ARGS`` as its own process, as a user or a CI job runs it."""
    environ = {k: v for k, v in os.environ.items() if k not in _CI_VARIABLES}
    environ.update(SOURCE_DATE_EPOCH="1764000000", USER="octocat", **(env or {}))
    if kubeconfig is not None:
        environ["KUBECONFIG"] = str(kubeconfig)
    done = subprocess.run([sys.executable, "-m", "mlpipex", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return Ran(done.returncode, done.stdout, done.stderr)
