"""deploy, promote, rollback and status through the real `kubernetes` client against the local stand-in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main

from .fake_apiserver import CRD_PATH, FakeKubernetes

pytestmark = pytest.mark.skipif(not CRD_PATH.exists(), reason=f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")

A = "ghcr.io/acme/models/bc@sha256:" + "a" * 64
B = "ghcr.io/acme/models/bc:1.1.0@sha256:" + "b" * 64
C = "ghcr.io/acme/models/bc@sha256:" + "c" * 64


@pytest.fixture
def fake():
    with FakeKubernetes() as server:
        yield server


@pytest.fixture
def project(quickstart, fake, tmp_path, monkeypatch):
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig", context="prod-cluster")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {
        "gpu": {"count": 1},
        "environments": [
            {"name": "staging", "context": "prod-cluster", "namespace": "ml-staging", "auto_deploy": True},
            {"name": "production", "context": "prod-cluster", "namespace": "ml-prod",
             "canary": {"steps": [10, 50, 100]}},
        ],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return path


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def obj(fake, namespace="ml-prod"):
    return fake.objects[(namespace, "breast-cancer")]


def test_canary_rollout_promote_and_rollback_standard(project, fake, capsys):
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    code, out, err = run(capsys, "deploy", *c, "--artifact", A)
    assert code == 0, err
    assert "at 100%" in out  # the first rollout gets everything
    code, out, err = run(capsys, "deploy", *c, "--artifact", B)
    assert code == 0, err
    spec = obj(fake)["spec"]
    assert spec["predictor"]["model"]["storageUri"] == f"oci://{A}"
    assert spec["canary"][0]["trafficPercent"] == 10 and spec["canary"][0]["predictor"]["model"]["storageUri"].endswith("b" * 64)
    assert "canary 10%, stable 90%" in out
    assert run(capsys, "promote", *c)[0] == 0
    assert obj(fake)["spec"]["canary"][0]["trafficPercent"] == 50
    code, out, _ = run(capsys, "promote", *c)
    assert code == 0 and "canary" not in obj(fake)["spec"]  # at 100% the new model becomes the predictor
    assert obj(fake)["spec"]["predictor"]["model"]["storageUri"].endswith("b" * 64)
    code, out, _ = run(capsys, "status", *c)
    assert "Ready" in out and "at 100%" in out and "promote" in out and "by octocat" in out
    code, out, _ = run(capsys, "rollback", *c)  # after a full rollout: the previous digest from history
    assert code == 0 and obj(fake)["spec"]["predictor"]["model"]["storageUri"] == f"oci://{A}"
    code, out, _ = run(capsys, "status", *c, "--json")
    state = json.loads(out)
    assert [h["action"] for h in state["history"]] == ["deploy", "deploy", "promote", "promote", "rollback"]
    assert state["traffic"] == 100 and state["stable"] == A


def test_rollback_during_canary_returns_to_stable(project, fake, capsys):
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A)
    run(capsys, "deploy", *c, "--artifact", B)
    assert run(capsys, "rollback", *c)[0] == 0
    spec = obj(fake)["spec"]
    assert "canary" not in spec and spec["predictor"]["model"]["storageUri"] == f"oci://{A}"


def test_knative_mode_splits_by_canary_traffic_percent(project, fake, capsys):
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A, "--mode", "Knative")
    code, out, _ = run(capsys, "deploy", *c, "--artifact", B, "--mode", "Knative")
    assert code == 0
    predictor = obj(fake)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10 and predictor["model"]["storageUri"].endswith("b" * 64)
    assert "predictor-00002 10%" in out and "predictor-00001 90%" in out


def test_a_revision_that_never_becomes_ready(project, fake, capsys):
    bad = "ghcr.io/acme/never-ready@sha256:" + "d" * 64
    code, _, err = run(capsys, "deploy", "-c", str(project), "--timeout", "1", "--artifact", bad)
    assert code == 3
    assert "not Ready after 1 s" in err and "failed to load model" in err and "mlpipex rollback" in err


def test_conflicts_and_unavailable_are_retried(project, fake, capsys):
    fake.fail_next = [409, 503, 409]
    code, _, err = run(capsys, "deploy", "-c", str(project), "--timeout", "5", "--artifact", A)
    assert code == 0, err
    assert fake.fail_next == [] and ("ml-staging", "breast-cancer") in fake.objects
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    assert run(capsys, "deploy", *c, "--artifact", A)[0] == 0
    fake.fail_next = [409, 503]
    assert run(capsys, "deploy", *c, "--artifact", B)[0] == 0
    spec = obj(fake)["spec"]  # no lost update: the retried write carries the whole new state
    assert spec["canary"][0]["predictor"]["model"]["storageUri"].endswith("b" * 64)
    assert spec["predictor"]["model"]["storageUri"] == f"oci://{A}"
    history = json.loads(obj(fake)["metadata"]["annotations"]["mlpipex.dev/history"])
    assert [h["action"] for h in history] == ["deploy", "deploy"]


def test_forbidden_and_down(project, fake, capsys):
    fake.fail_next = [403]
    code, _, err = run(capsys, "deploy", "-c", str(project), "--artifact", A)
    assert code == 3 and "refused" in err and "inferenceservices.serving.kserve.io" in err
    fake.down = True
    code, _, err = run(capsys, "status", "-c", str(project))
    assert code == 3 and "503" in err


def test_unreachable_api_server(project, capsys, tmp_path, monkeypatch):
    kubeconfig = yaml.safe_load(Path(os.environ["KUBECONFIG"]).read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"
    (tmp_path / "dead").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "dead"))
    code, _, err = run(capsys, "status", "-c", str(project))
    assert code == 3 and "cannot reach the Kubernetes API server" in err


def test_invalid_object_never_reaches_the_api_server(project, fake, capsys):
    data = yaml.safe_load(project.read_text())
    data["deploy"]["node_selector"] = {"pool": "gpu"}
    data["deploy"]["tolerations"] = [{"effect": 42}]
    project.write_text(yaml.safe_dump(data))
    code, _, err = run(capsys, "deploy", "-c", str(project), "--artifact", A)
    assert code == 2 and "tolerations[0].effect" in err
    assert not [m for m, _ in fake.requests if m in ("PATCH", "POST", "PUT")]


def test_promotion_across_environments_checks_the_rules(project, fake, capsys):
    data = yaml.safe_load(project.read_text())
    data["deploy"]["environments"][1]["rules"] = {"after": "staging", "healthy_for": "0s", "approvals": 1}
    project.write_text(yaml.safe_dump(data))
    c = ["-c", str(project), "--timeout", "5"]
    assert run(capsys, "deploy", *c, "--artifact", A)[0] == 0  # staging: auto-deploy on merge
    code, _, err = run(capsys, "promote", *c, "--env", "production")
    assert code == 2 and "cannot go to production yet: 0 approvals; 1 required" in err
    assert ("ml-prod", "breast-cancer") not in fake.objects
    code, _, err = run(capsys, "promote", *c, "--env", "production", "--approvals", "1")
    assert code == 0, err
    assert obj(fake)["spec"]["predictor"]["model"]["storageUri"] == f"oci://{A}"  # first rollout: 100%
    assert run(capsys, "deploy", *c, "--artifact", B)[0] == 0
    code, _, err = run(capsys, "promote", *c, "--env", "production", "--approvals", "2")
    assert code == 0, err
    assert obj(fake)["spec"]["canary"][0]["trafficPercent"] == 10  # a new model starts as a canary
    code, _out, _ = run(capsys, "promote", *c, "--env", "production")  # same digest now: the next step
    assert code == 0 and obj(fake)["spec"]["canary"][0]["trafficPercent"] == 50


def samples(path, *, slower: float = 1.0, n: int = 300):
    import numpy as np

    rng = np.random.default_rng(0)
    data = {"stable": {"latency_p95": rng.gamma(4, 5, n).tolist(), "error_rate": [0.0] * n},
            "canary": {"latency_p95": (rng.gamma(4, 5, n) * slower).tolist(), "error_rate": [0.0] * n}}  # fmt: skip
    path.write_text(json.dumps(data))
    return path


def test_canary_run_advances_to_100_on_equal_samples(project, fake, capsys, tmp_path):
    data = yaml.safe_load(project.read_text())
    data["deploy"]["environments"][1]["canary"]["interval"] = "0s"
    project.write_text(yaml.safe_dump(data))
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A)
    run(capsys, "deploy", *c, "--artifact", B)
    code, out, err = run(capsys, "canary", "run", *c, "--metrics-file", str(samples(tmp_path / "m.json")))
    assert code == 0, err
    assert "advance at 10% → 50%" in out and "advance at 50% → 100%" in out
    assert "canary" not in obj(fake)["spec"] and obj(fake)["spec"]["predictor"]["model"]["storageUri"].endswith("b" * 64)
    record = json.loads(obj(fake)["metadata"]["annotations"]["mlpipex.dev/canary"])
    assert [d["action"] for d in record["decisions"]] == ["advance", "advance"]
    assert record["decisions"][0]["metrics"][0]["metric"] == "latency_p95"


def test_canary_run_rolls_back_a_slower_canary(project, fake, capsys, tmp_path):
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A)
    run(capsys, "deploy", *c, "--artifact", B)
    code, out, _ = run(capsys, "canary", "run", *c, "--once", "--metrics-file", str(samples(tmp_path / "m.json", slower=1.3)))
    assert code == 1 and "rollback at 10% → 100%" in out and "latency_p95" in out
    spec = obj(fake)["spec"]
    assert "canary" not in spec and spec["predictor"]["model"]["storageUri"] == f"oci://{A}"


def test_canary_run_holds_without_enough_samples_and_resumes(project, fake, capsys, tmp_path):
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A)
    run(capsys, "deploy", *c, "--artifact", B)
    code, out, _ = run(capsys, "canary", "run", *c, "--once", "--metrics-file", str(samples(tmp_path / "m.json", n=10)))
    assert code == 0 and "hold at 10% → 10%" in out and "10 samples, 50 needed" in out
    assert obj(fake)["spec"]["canary"][0]["trafficPercent"] == 10
    code, out, _ = run(capsys, "canary", "run", *c, "--once", "--metrics-file", str(samples(tmp_path / "m.json")))
    assert code == 0 and "advance at 10% → 50%" in out
    record = json.loads(obj(fake)["metadata"]["annotations"]["mlpipex.dev/canary"])
    assert [d["action"] for d in record["decisions"]] == ["hold", "advance"]
    code, out, _ = run(capsys, "status", *c)
    assert "canary analysis (why traffic moved)" in out and "advance  →  50%" in out and "samples, 50 needed" in out


def test_rollouts_are_reported_as_deploy_check_runs(project, fake, capsys, monkeypatch, tmp_path):
    from providers.fake_github import SPEC_PATH, FakeGitHub

    if not SPEC_PATH.exists():
        pytest.skip("npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    with FakeGitHub() as github:
        for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_x",
                           "GITHUB_REPOSITORY": "acme/models", "GITHUB_SHA": "e" * 40, "GITHUB_RUN_ID": "9",
                           "GITHUB_OUTPUT": str(tmp_path / "outputs")}.items():  # fmt: skip
            monkeypatch.setenv(key, value)
        assert run(capsys, "deploy", *c, "--artifact", A)[0] == 0
        code, out, _ = run(capsys, "deploy", *c, "--artifact", B)
        assert code == 0 and "posted: deploy check run" in out
        first, second = github.check_runs.values()
        assert first["name"] == second["name"] == "mlpipex deploy / breast-cancer (production)"
        assert first["head_sha"] == "e" * 40 and first["conclusion"] == second["conclusion"] == "success"
        assert second["output"]["title"] == "breast-cancer in production: deploy at 10%"
        summary = second["output"]["summary"]
        assert "pie showData" in summary and '"new bc:1.1.0@sha256:bbbbbbbbbbbb" : 10' in summary
        assert '"stable bc@sha256:aaaaaaaaaaaa" : 90' in summary
        outputs = (tmp_path / "outputs").read_text().splitlines()
        assert f"artifact={B}" in outputs and "environment=production" in outputs and "traffic=10" in outputs
        assert run(capsys, "rollback", *c)[0] == 0
        assert list(github.check_runs.values())[-1]["output"]["title"] == "breast-cancer in production: rollback at 100%"
        bad = "ghcr.io/acme/never-ready@sha256:" + "d" * 64
        code, _, _ = run(capsys, "deploy", "-c", str(project), "--timeout", "1", "--artifact", bad)
        assert code == 3
        failed = list(github.check_runs.values())[-1]
        assert failed["conclusion"] == "failure" and failed["name"] == "mlpipex deploy / breast-cancer (staging)"
        assert failed["output"]["title"] == "deploy of breast-cancer in staging failed"
        assert "not Ready" in failed["output"]["summary"]
        assert not github.violations
