"""The compare gate against a package in a real registry (baseline.artifact), pulled by digest.

Model A is the quickstart's 1.1.0 model (accuracy 0.977), pushed as REPO:1.0; candidate B is
the older models/baseline.onnx (accuracy 0.947): 3% worse, past the quickstart's 2% limit.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main
from mlpipex.oci import parse_reference

from .conftest import PASSWORD, USER


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out.strip(), captured.err


def push_a(capsys, target: str) -> str:
    """Push the packaged model A under tag 1.0; its REF@DIGEST."""
    code, out, err = cli(capsys, "push", "--to", f"{target}:1.0")
    assert code == 0, err
    return out.splitlines()[-1]


def candidate_b(project: Path, baseline: dict) -> None:
    config = yaml.safe_load((project / "mlpipex.yaml").read_text())
    config["model"]["path"] = "models/baseline.onnx"
    config["baseline"] = baseline
    config["gates"]["compare"]["latency"]["iterations"] = 50
    (project / "mlpipex.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def gate_compare(capsys, out: Path) -> tuple[int, str, str]:
    return cli(capsys, "gate", "--only", "compare", "--report-dir", str(out))


def test_regressed_candidate_fails_against_the_pulled_package(packaged, registry, capsys, tmp_path):
    target = f"{registry.address}/models/breast-cancer"
    pushed = parse_reference(push_a(capsys, target))
    assert pushed.digest
    candidate_b(packaged, {"artifact": f"{target}:1.0"})

    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err
    pulled = packaged / ".mlpipex/baselines" / pushed.digest.replace(":", "-")
    assert (pulled / "manifest.json").is_file() and (pulled / "config.json").is_file()
    assert f"{target}@{pushed.digest}" in out  # the console names what it compared with
    report = json.loads((tmp_path / "report.json").read_text())
    compare = next(g for g in report["gates"] if g["gate"] == "compare")
    assert compare["status"] == "fail" and "accuracy" in compare["message"]
    assert compare["details"]["baseline_artifact"] == f"{target}@{pushed.digest}"
    # A's own numbers, from the pulled model (not B's, not the file beside the config)
    assert compare["details"]["baseline_metrics"]["accuracy"] == pytest.approx(0.977, abs=0.002)
    assert compare["details"]["candidate_metrics"]["accuracy"] == pytest.approx(0.947, abs=0.002)
    assert any(m["name"] == "latency_ratio" for m in compare["measurements"])
    assert report["baseline"]["artifact"] == f"{target}@{pushed.digest}"
    assert report["baseline"]["requested"] == f"{target}:1.0" and report["baseline"]["version"] == "1.1.0"
    assert pushed.digest in (tmp_path / "report.md").read_text()
    properties = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "junit.xml").iter("property")}
    assert properties["baseline"] == "breast-cancer@1.1.0"
    assert properties["baseline_artifact"] == f"{target}@{pushed.digest}"

    # Reused when present (the registry is gone), re-pulled when damaged
    registry.stop()
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 3 and "cannot reach registry" in out + err  # a tag must still be resolved
    candidate_b(packaged, {"artifact": f"{target}@{pushed.digest}"})
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1 and pushed.digest in out, out + err  # by digest: no registry needed


def test_a_damaged_cached_package_is_pulled_again(packaged, registry, capsys, tmp_path):
    target = f"{registry.address}/models/breast-cancer"
    pushed = parse_reference(push_a(capsys, target))
    assert pushed.digest
    candidate_b(packaged, {"artifact": f"{target}@{pushed.digest}"})
    assert gate_compare(capsys, tmp_path)[0] == 1
    pulled = packaged / ".mlpipex/baselines" / pushed.digest.replace(":", "-")
    model = next(pulled.rglob("*.onnx"))
    shutil.copy(packaged / "models" / "baseline.onnx", model)  # now B: it would compare B with B and pass
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err
    assert model.read_bytes() == (packaged / "models" / "model.onnx").read_bytes()


def test_a_tag_not_pushed_yet_skips_or_fails_when_required(packaged, registry, capsys, tmp_path):
    candidate_b(packaged, {"artifact": f"{registry.address}/models/breast-cancer:1.0"})
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 0 and "does not exist" in out + err and "nothing deployed" in out + err, out + err
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["gates"]["compare"]["require_baseline"] = True
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1 and "does not exist" in out + err and "require_baseline is on" in out + err, out + err


def test_refused_credentials_exit_3_naming_the_registry(packaged, auth_registry, capsys, monkeypatch, tmp_path):
    target = f"{auth_registry.address}/models/breast-cancer"
    monkeypatch.setenv("DOCKER_CONFIG", str(packaged / "no-docker-config"))
    monkeypatch.setenv("MLPIPEX_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", PASSWORD)
    push_a(capsys, target)
    candidate_b(packaged, {"artifact": f"{target}:1.0"})
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", "wrong")
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 3, out + err
    assert auth_registry.address in out + err and "MLPIPEX_REGISTRY_USERNAME" in out + err
    assert "wrong" not in out + err and PASSWORD not in out + err


@pytest.mark.parametrize(("baseline", "message"), [
    ({"path": "models/baseline.onnx", "artifact": "ghcr.io/acme/bc:1.0"}, "not both"),
    ({"artifact": "ghcr.io/acme/bc"}, "REGISTRY/REPOSITORY:TAG"),
])  # fmt: skip
def test_bad_baseline_config_is_exit_2(quickstart, capsys, monkeypatch, baseline, message):
    monkeypatch.chdir(quickstart)
    candidate_b(quickstart, baseline)
    code, out, err = cli(capsys, "validate")
    assert code == 2 and message in out + err and "baseline" in out + err, out + err


# -- environment tags: deploy moves REPO:<environment>, baseline.environment reads it ------------------------


def deployable(project: Path, registry_address: str, kubeconfig: Path) -> None:
    config = yaml.safe_load((project / "mlpipex.yaml").read_text())
    config["package"] = {**config.get("package", {}), "registry": registry_address, "repository": "models/breast-cancer"}
    config["deploy"] = {"storage": "fetch",
                        "environments": [{"name": "production", "context": "prod", "namespace": "ml-prod"}]}  # fmt: skip
    (project / "mlpipex.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_deploy_moves_the_environment_tag_and_the_gate_compares_with_it(packaged, registry, kube, capsys, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    target = f"{registry.address}/models/breast-cancer"
    a = push_a(capsys, target)
    digest = parse_reference(a).digest
    deployable(packaged, registry.address, tmp_path)
    code, out, err = cli(capsys, "deploy", "--env", "production", "--artifact", a, "--timeout", "5")
    assert code == 0 and "warning" not in err, out + err
    from mlpipex.oci import RegistryClient

    assert RegistryClient(registry.address).resolve(parse_reference(f"{target}:production")) == digest

    # CI without cluster access: the tag
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err
    assert f"{target}:production (registry tag; cluster not used: no usable kubeconfig" in out
    assert f"= {target}@{digest}" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["baseline"]["artifact"] == f"{target}@{digest}"
    assert report["baseline"]["requested"].startswith(f"{target}:production (registry tag")
    assert (packaged / ".mlpipex/baselines" / str(digest).replace(":", "-") / "manifest.json").is_file()


def test_the_live_inferenceservice_is_preferred_over_the_tag(packaged, registry, kube, capsys, tmp_path):
    target = f"{registry.address}/models/breast-cancer"
    a = push_a(capsys, target)
    digest = parse_reference(a).digest
    deployable(packaged, registry.address, tmp_path)
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["deploy"]["environment_tags"] = False  # no tag at all: only the cluster knows
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, out, err = cli(capsys, "deploy", "--env", "production", "--artifact", a, "--timeout", "5")
    assert code == 0, out + err
    candidate_b(packaged, {"environment": "production"})
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err  # compared with A, read from the cluster (the tag would have skipped)
    assert "production (live InferenceService ml-prod/breast-cancer, context prod)" in out
    assert f"= {target}@{digest}" in out


def test_a_tag_that_cannot_move_is_a_warning_not_a_failed_rollout(packaged, registry, kube, capsys, tmp_path):
    a = push_a(capsys, f"{registry.address}/models/breast-cancer")
    deployable(packaged, registry.address, tmp_path)
    registry.stop()
    code, out, err = cli(capsys, "deploy", "--env", "production", "--artifact", a, "--timeout", "5")
    assert code == 0, out + err
    assert "serves" in out and "warning: the rollout succeeded, but the tag production" in err
    assert f"cannot reach registry {registry.address}" in err


def test_baseline_environment_must_be_a_deploy_environment(packaged, registry, capsys, tmp_path):
    deployable(packaged, registry.address, tmp_path)
    candidate_b(packaged, {"environment": "prod"})
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 2 and "baseline.environment `prod`" in out + err and "production" in out + err, out + err
