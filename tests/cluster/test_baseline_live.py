"""`baseline.environment: production` compares with what the live InferenceService serves (issue 17).

Model A is pushed to a real registry and deployed to production through the real path
(`mlpipex deploy`, a process, against the real API server and KServe's controller); then a
canary of B is started by hand, so the object names two models. `mlpipex gate` (a process)
on candidate B reads the stable model off the live object — A, not the canary — pulls
exactly that digest, names it in the report, and fails B against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlpipex.config import load_config
from mlpipex.kserve import Rollout
from mlpipex.kserve.cluster import Cluster
from mlpipex.kserve.manifests import with_storage_uris
from mlpipex.kserve.rollout import plan_deploy
from mlpipex.oci import parse_reference
from mlpipex.rollouts import RegistryLocator

from .controlplane import ControlPlane
from .packages import Shipped, mlpipex

pytestmark = pytest.mark.timeout(420)

NAME = "breast-cancer"


def compare_with_production(project: Path, model: str) -> None:
    path = project / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"]["path"] = model
    data["baseline"] = {"environment": "production"}
    data["gates"]["compare"]["latency"]["iterations"] = 50
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_the_gate_compares_with_the_stable_model_of_the_live_inferenceservice(control_plane: ControlPlane,
                                                                             shipped: Shipped, namespace: str,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    path = shipped.configure([{"name": "production", "namespace": namespace, "canary": {"steps": [10, 50, 100]}}])
    kubeconfig, project = control_plane.kubeconfig, shipped.project
    deployed = mlpipex(project, "deploy", "--artifact", shipped.a, "--timeout", "90", "--provider", "local",
                       kubeconfig=kubeconfig)  # fmt: skip
    assert deployed.code == 0, deployed.said
    # B as a canary beside A (started by hand: KServe v0.20.0 gives a Standard canary no traffic, and
    # mlpipex refuses to start one there), so the live object names both models.
    config = load_config(path)
    cluster = Cluster.connect(kubeconfig=str(kubeconfig))
    locator = RegistryLocator()
    planned = plan_deploy(config, config.deploy.environments[0], cluster.get(namespace, NAME), Rollout(shipped.b))
    live = cluster.apply(with_storage_uris(planned, lambda artifact: locator.uri(config, artifact)))
    assert live["metadata"]["annotations"]["mlpipex.dev/artifact"] == shipped.b  # the canary
    assert live["metadata"]["annotations"]["mlpipex.dev/stable-artifact"] == shipped.a

    digest_a = parse_reference(shipped.a).digest
    assert digest_a is not None
    expected = f"{shipped.target}@{digest_a}"
    compare_with_production(project, "models/baseline.onnx")  # candidate B: 3% less accurate than A
    report_dir = tmp_path / "report"
    gated = mlpipex(project, "gate", "--only", "compare", "--report-dir", str(report_dir), "--provider", "local",
                    kubeconfig=kubeconfig)  # fmt: skip
    assert gated.code == 1, gated.said
    assert f"production (live InferenceService {namespace}/{NAME}, the current kubeconfig context)" in gated.out
    assert f"= {expected}" in gated.out, gated.out
    report = json.loads((report_dir / "report.json").read_text())
    assert report["baseline"]["artifact"] == expected and report["baseline"]["version"] == "1.1.0"
    compare = next(g for g in report["gates"] if g["gate"] == "compare")
    assert compare["status"] == "fail" and "accuracy" in compare["message"]
    assert compare["details"]["baseline_artifact"] == expected
    assert compare["details"]["baseline_metrics"]["accuracy"] == pytest.approx(0.977, abs=0.002)  # A's, pulled
    assert compare["details"]["candidate_metrics"]["accuracy"] == pytest.approx(0.947, abs=0.002)
    assert digest_a in (report_dir / "report.md").read_text()
    assert (project / ".mlpipex/baselines" / digest_a.replace(":", "-") / "manifest.json").is_file()  # pulled by digest

    # The same model as production's passes against it: it was A that was compared with.
    compare_with_production(project, "models/model.onnx")
    same = mlpipex(project, "gate", "--only", "compare", "--report-dir", str(report_dir), "--provider", "local",
                   kubeconfig=kubeconfig)  # fmt: skip
    assert same.code == 0, same.said
    assert f"= {expected}" in same.out
