"""The quickstart set up to compare with a deployed model only (the front ends' baseline tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def compare_with(repo: Path, baseline: dict, **deploy: object) -> None:
    """Only the compare gate, on metrics (no timing on a busy machine), against ``baseline``."""
    config = repo / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    compare = data["gates"]["compare"]
    data["gates"] = {"compare": {**compare, "latency": {"enabled": False}, "require_baseline": True}}
    data["baseline"] = baseline
    data.update({"deploy": deploy} if deploy else {})
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def in_production(repo: Path, registry: str) -> None:
    """``baseline: {environment: production}``, production in context `prod`; the tag lives in ``registry``."""
    config = repo / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data["package"] = {**data.get("package", {}), "registry": registry, "repository": "acme/breast-cancer"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    compare_with(repo, {"environment": "production"}, environment_tags=True,
                 environments=[{"name": "production", "context": "prod", "namespace": "ml-prod"}])  # fmt: skip


def serve_in_production(kube: Any, pushed: str, kubeconfig: Path, *, token: str) -> str:
    """Make ``kube`` (a FakeKubernetes) serve ``pushed`` at 100% in ml-prod, as a deploy leaves it (mlpipex's
    annotations); returns the text of a kubeconfig for it, context `prod`, with ``token``."""
    registry, _, rest = pushed.partition("/")
    digest = pushed.split("@")[1]
    kube.objects[("ml-prod", "breast-cancer")] = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "breast-cancer", "namespace": "ml-prod",
                     "annotations": {"mlpipex.dev/artifact": pushed, "mlpipex.dev/stable-artifact": pushed, "mlpipex.dev/traffic": "100"}},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"},
                                         "storageUri": f"oci+fetch://{registry}/{rest.split(':')[0].split('@')[0]}@{digest}"}}},
    }  # fmt: skip
    config = yaml.safe_load(kube.kubeconfig(kubeconfig, context="prod").read_text())
    config["users"][0]["user"]["token"] = token
    text = yaml.safe_dump(config)
    kubeconfig.write_text(text)
    return text
