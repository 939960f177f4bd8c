"""deploy, promote, rollback and status through the real `kubernetes` client against the local stand-in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main
from tests.kserve.cluster_fake.fake_apiserver import (
    CRD_PATH,
    V0_20_0,
    WEIGHTING,
    FakeKubernetes,
    KServeInstall,
)

pytestmark = pytest.mark.skipif(not CRD_PATH.exists(), reason=f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")

A = "ghcr.io/acme/models/bc@sha256:" + "a" * 64
B = "ghcr.io/acme/models/bc:1.1.0@sha256:" + "b" * 64
C = "ghcr.io/acme/models/bc@sha256:" + "c" * 64


@pytest.fixture
def fake():
    with FakeKubernetes(kserve=WEIGHTING) as server:  # Standard-mode canaries split there
        yield server


@pytest.fixture
def project(quickstart, fake, tmp_path, monkeypatch):
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig", context="prod-cluster")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {
        "storage": "fetch",  # made-up digests: no modelcar image to look up
        "environment_tags": False,  # made-up digests on ghcr.io: the tags' tests use a real registry (tests/oci)
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
    assert spec["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"
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
    assert code == 0 and obj(fake)["spec"]["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"
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
    assert "canary" not in spec and spec["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"


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
    assert spec["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"
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
    assert obj(fake)["spec"]["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"  # first rollout: 100%
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
    assert "canary" not in spec and spec["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}"


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


# -- what the cluster's KServe can do (issue 14: Standard-mode canaries split only where KServe weights them) --


def writes(fake):
    return [p for m, p in fake.requests if m in ("PATCH", "POST", "PUT")]


def test_v0_20_0_refuses_a_standard_canary_it_would_not_split(project, fake, capsys):
    """KServe v0.20.0 creates spec.canary[]'s Deployment but routes it nothing: deploy says so and sends nothing."""
    fake.play(V0_20_0)
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    code, out, err = run(capsys, "deploy", *c, "--artifact", A)
    assert code == 0 and "at 100%" in out, err  # a first rollout needs no split
    sent = len(writes(fake))
    code, _, err = run(capsys, "deploy", *c, "--artifact", B)
    assert code == 2
    assert "a 10% Standard-mode canary would get no traffic: KServe v0.20.0 creates the canary's Deployment" in err
    assert "use mode: Knative for this environment" in err and "ingress.enableGatewayApi: true" in err
    assert len(writes(fake)) == sent  # nothing was sent: A still serves everything
    assert obj(fake)["spec"]["predictor"]["model"]["storageUri"] == f"oci+fetch://{A}" and "canary" not in obj(fake)["spec"]
    # a full cutover needs no split, and Knative mode splits by revision on v0.20.0
    assert run(capsys, "deploy", *c, "--artifact", B, "--canary", "100")[0] == 0
    code, out, err = run(capsys, "deploy", "-c", str(project), "--timeout", "5", "--artifact", C, "--mode", "Knative")
    assert code == 0, err


def test_a_canary_on_a_kserve_without_weighting_cannot_be_stepped_but_can_finish(project, fake, capsys):
    """Started where KServe weights it, then the cluster plays v0.20.0 (a downgrade, Gateway API switched off):
    promote to 50% is refused with the fix; promote to 100% and rollback stay allowed."""
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    assert run(capsys, "deploy", *c, "--artifact", A)[0] == 0
    assert run(capsys, "deploy", *c, "--artifact", B)[0] == 0
    assert obj(fake)["status"]["components"]["predictor"]["traffic"][0]["percent"] == 10  # WEIGHTING splits
    fake.play(KServeInstall(version="v0.21.0", gateway_api=False))
    code, _, err = run(capsys, "promote", *c)
    assert code == 2 and "a 50% Standard-mode canary would get no traffic" in err
    assert "ingress.enableGatewayApi is false" in err
    assert obj(fake)["spec"]["canary"][0]["trafficPercent"] == 10
    fake.play(V0_20_0)
    assert run(capsys, "rollback", *c)[0] == 0  # back to A at 100%: no split needed
    assert "canary" not in obj(fake)["spec"]
    assert run(capsys, "deploy", *c, "--artifact", B, "--canary", "100")[0] == 0
    assert obj(fake)["spec"]["predictor"]["model"]["storageUri"].endswith("b" * 64)


def test_canary_run_refuses_to_step_where_the_split_does_not_exist(project, fake, capsys, tmp_path):
    data = yaml.safe_load(project.read_text())
    data["deploy"]["environments"][1]["canary"]["interval"] = "0s"
    project.write_text(yaml.safe_dump(data))
    c = ["-c", str(project), "--env", "production", "--timeout", "5"]
    run(capsys, "deploy", *c, "--artifact", A)
    run(capsys, "deploy", *c, "--artifact", B)
    fake.play(V0_20_0)
    code, _, err = run(capsys, "canary", "run", *c, "--once", "--metrics-file", str(samples(tmp_path / "m.json")))
    assert code == 2 and "a 50% Standard-mode canary would get no traffic" in err
    assert obj(fake)["spec"]["canary"][0]["trafficPercent"] == 10


def test_the_fake_controller_splits_standard_canaries_only_where_kserve_weights_them():
    """The stand-in reports what KServe's controller would: v0.20.0 routes spec.canary[] nothing; an object
    without the deploymentMode annotation runs in the ConfigMap's default mode (shipped: Serverless = Knative)."""
    from kubernetes import client

    from mlpipex.kserve.cluster import Cluster

    def service(mode=None, canary=False):
        model = {"modelFormat": {"name": "onnx"}, "protocolVersion": "v2", "storageUri": f"oci://{A.split('@')[0]}@sha256:{'a' * 64}"}
        spec = {"predictor": {"name": "rev-a", "model": model, "minReplicas": 1}}
        if canary:
            spec["canary"] = [{"trafficPercent": 10, "predictor": {"name": "rev-b", "model": {
                **model, "name": "kserve-container", "storageUri": model["storageUri"].replace("a" * 64, "b" * 64)}}}]
        notes = {"serving.kserve.io/deploymentMode": mode} if mode else {}
        return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                "metadata": {"name": "m", "namespace": "ml", "annotations": notes}, "spec": spec}  # fmt: skip

    for kserve, split in ((V0_20_0, [100]), (WEIGHTING, [10, 90])):
        with FakeKubernetes(kserve=kserve) as fake:
            settings = client.Configuration()
            settings.host = fake.url
            cluster = Cluster(client.ApiClient(settings), retries=0)
            crd, image, configmap = cluster.kserve_facts()
            assert image == kserve.image and crd["metadata"]["labels"]["app.kubernetes.io/name"] == "kserve"
            assert json.loads(configmap["data"]["ingress"])["enableGatewayApi"] is kserve.gateway_api
            cluster.apply(service("Standard"))
            applied = cluster.apply(service("Standard", canary=True))
            assert [t["percent"] for t in applied["status"]["components"]["predictor"]["traffic"]] == split
    with FakeKubernetes() as fake:
        fake.handle("POST", "/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices", "application/json",
                    json.dumps(service()).encode())  # fmt: skip
        assert fake.objects[("ml", "m")]["status"]["deploymentMode"] == "Knative"  # as shipped: Serverless
    with FakeKubernetes(kserve=KServeInstall(default_mode="Standard")) as fake:
        fake.handle("POST", "/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices", "application/json",
                    json.dumps(service()).encode())  # fmt: skip
        assert fake.objects[("ml", "m")]["status"]["deploymentMode"] == "Standard"


# -- where KServe loads each model from (issue 14: the flow decides, every object sent carries it) --


def test_modelcar_mode_with_an_unreachable_registry_is_exit_3_naming_it(project, fake, capsys):
    from oci.conftest import free_port

    data = yaml.safe_load(project.read_text())
    data["deploy"]["storage"] = "modelcar"
    project.write_text(yaml.safe_dump(data))
    address = f"127.0.0.1:{free_port()}"
    artifact = f"{address}/models/bc@sha256:" + "a" * 64
    code, _, err = run(capsys, "deploy", "-c", str(project), "--timeout", "5", "--artifact", artifact)
    assert code == 3
    assert f"deploy.storage `modelcar` reads the modelcar image of {address}/models/bc@sha256:" in err
    assert f"cannot reach registry {address}" in err and "deploy.storage: fetch" in err
    assert not writes(fake)
    code, _, err = run(capsys, "deploy", "-c", str(project), "--artifact", artifact, "--dry-run")
    assert code == 3 and f"cannot reach registry {address}" in err  # the dry run prints what deploy sends


def test_fetch_mode_asks_no_registry_even_in_a_dry_run(project, capsys):
    from oci.conftest import free_port

    artifact = f"127.0.0.1:{free_port()}/models/bc:1.0@sha256:" + "a" * 64  # nothing listens there
    code, out, err = run(capsys, "deploy", "-c", str(project), "--artifact", artifact, "--dry-run")
    assert code == 0, err
    assert yaml.safe_load(out)["spec"]["predictor"]["model"]["storageUri"] == \
        f"oci+fetch://{artifact.replace(':1.0', '')}"  # fmt: skip


def test_a_test_locator_decides_every_uri_sent(quickstart, fake, tmp_path):
    """Rollouts(storage=...) is the one place URIs come from: every model of every object sent carries its answer."""
    from mlpipex.config import load_config
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.rollouts import Rollouts, environment

    asked: list[str] = []

    class Locator:
        def uri(self, config, artifact):
            asked.append(artifact)
            return "oci://registry.example.com/cars@sha256:" + artifact.rsplit(":", 1)[1]  # (a modelcar's digest)

    data = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    data["deploy"] = {"environment_tags": False,  # made-up digests: no registry to move a tag in
                      "environments": [{"name": "production", "namespace": "ml-prod", "canary": {"steps": [10, 100]}}]}
    (quickstart / "mlpipex.yaml").write_text(yaml.safe_dump(data))
    config = load_config(str(quickstart / "mlpipex.yaml"), check_files=False)
    kube = Cluster.connect(None, str(fake.kubeconfig(tmp_path / "kubeconfig")))
    flow = Rollouts(cluster_for=lambda env: kube, timeout=5, storage=Locator())
    env = environment(config, "production")
    assert flow.deploy(config, env, A, by="t").ok
    assert flow.deploy(config, env, B, by="t").ok
    spec = obj(fake)["spec"]
    assert spec["predictor"]["model"]["storageUri"] == "oci://registry.example.com/cars@sha256:" + "a" * 64
    assert spec["canary"][0]["predictor"]["model"]["storageUri"] == "oci://registry.example.com/cars@sha256:" + "b" * 64
    assert spec["canary"][0]["predictor"]["name"] == "rev-bbbbbbbbbb"  # names still follow the gated artifact
    assert set(asked) == {A, B.replace(":1.1.0", "")}
