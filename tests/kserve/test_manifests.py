"""InferenceService manifests for both KServe modes, validated against the real CRD and
admitted by KServe's own webhook code (tests/kserve/cluster_fake/kserve_admission.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main
from mlpipex.config import load_config
from mlpipex.config.model import EnvironmentConfig
from mlpipex.errors import InputError
from mlpipex.kserve import Rollout, build_inference_service, load_crd
from tests.kserve.cluster_fake.kserve_admission import assert_admitted

CRD = Path(__file__).resolve().parents[3] / "shared" / "kserve" / "serving.kserve.io_inferenceservices.yaml"
needs_crd = pytest.mark.skipif(not CRD.exists(), reason=f"the KServe CRD is not here ({CRD}); it ships beside the repository in ../shared/kserve")
DIGEST = "sha256:" + "b" * 64
ARTIFACT = f"ghcr.io/acme/models/bc:1.1.0@{DIGEST}"
STABLE = "ghcr.io/acme/models/bc@sha256:" + "a" * 64

DEPLOY = {
    "mode": "Standard",
    "storage": "fetch",  # made-up digests on ghcr.io: a modelcar dry run would read the registry
    "gpu": {"count": 1},
    "cpu": "2",
    "memory": "4Gi",
    "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
    "replicas": {"min": 1, "max": 4, "target": 80, "metric": "cpu"},
    "logger": {"url": "http://mlpipex-monitor.mlpipex.svc/events"},
    "service_account": "bc-serving",
    "image_pull_secrets": ["ghcr-pull"],
    "environments": [
        {"name": "staging", "namespace": "ml-staging", "auto_deploy": True},
        {"name": "production", "namespace": "ml-prod", "canary": {"steps": [10, 50, 100]},
         "rules": {"after": "staging", "healthy_for": "1h", "approvals": 1}},
    ],
}  # fmt: skip


@pytest.fixture
def config(quickstart):
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = DEPLOY
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


@pytest.fixture(scope="module")
def crd():
    if not CRD.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD}); it ships beside the repository in ../shared/kserve")
    return load_crd(CRD)


def env(config, name):
    return next(e for e in config.deploy.environments if e.name == name)


def test_first_rollout_standard_gets_everything(config, crd):
    service = build_inference_service(config, env(config, "staging"), Rollout(ARTIFACT, git_sha="abc", pull_request=7))
    assert crd.problems(service) == []
    assert_admitted(service)
    predictor = service["spec"]["predictor"]
    assert "name" not in predictor["model"]  # KServe: "the 'name' field is not allowed in standard predictor"
    assert predictor["name"] == "rev-bbbbbbbbbb" and predictor["model"]["protocolVersion"] == "v2"
    assert predictor["serviceAccountName"] == "bc-serving" and predictor["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    assert "canary" not in service["spec"] and "canaryTrafficPercent" not in predictor
    assert predictor["model"]["storageUri"] == f"oci://ghcr.io/acme/models/bc@{DIGEST}"
    assert predictor["model"]["modelFormat"] == {"name": "onnx"}
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] and predictor["tolerations"][0]["key"] == "nvidia.com/gpu"
    # the logger URL names the model, so the monitor tells this predictor's events from a canary's
    assert predictor["logger"] == {"mode": "all", "url": "http://mlpipex-monitor.mlpipex.svc/events?revision=rev-bbbbbbbbbb"}
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleTarget"]) == (1, 4, 80)
    annotations = service["metadata"]["annotations"]
    assert annotations["mlpipex.dev/artifact"] == ARTIFACT and annotations["mlpipex.dev/pull-request"] == "7"
    assert service["metadata"]["namespace"] == "ml-staging"


def test_standard_canary_uses_spec_canary(config, crd):
    service = build_inference_service(config, env(config, "production"), Rollout(ARTIFACT, 10, STABLE))
    assert crd.problems(service) == []
    assert_admitted(service)
    assert service["spec"]["predictor"]["model"]["storageUri"] == f"oci://{STABLE}"
    assert service["spec"]["predictor"]["name"] == "rev-aaaaaaaaaa"
    [canary] = service["spec"]["canary"]
    assert canary["trafficPercent"] == 10
    assert canary["predictor"]["model"]["storageUri"].endswith(DIGEST)
    # KServe's canary rules: named, fixed replicas (no autoscaling fields of its own)
    assert canary["predictor"]["name"] == "rev-bbbbbbbbbb"
    assert not {"maxReplicas", "minReplicas", "scaleTarget", "scaleMetric", "autoScaling"} & set(canary["predictor"])
    # each predictor its own logger URL: without one the canary inherits the stable's through KServe's merge
    assert service["spec"]["predictor"]["logger"]["url"].endswith("/events?revision=rev-aaaaaaaaaa")
    assert canary["predictor"]["logger"] == {"mode": "all", "url": "http://mlpipex-monitor.mlpipex.svc/events?revision=rev-bbbbbbbbbb"}


def test_logger_url_keeps_the_token_and_other_parameters():
    from mlpipex.kserve.manifests import logger_url

    token = "http://kserve:s3cr%2Ft-T0KEN_0123456789@mlpipex-monitor.mlpipex.svc:8090/events"
    assert logger_url(token, ARTIFACT) == f"{token}?revision=rev-bbbbbbbbbb"
    # a revision already in the URL (hand-written, or a plan re-applied) is replaced, not repeated
    assert logger_url("http://m/events?tenant=a&revision=rev-0000000000&x", STABLE) == \
        "http://m/events?tenant=a&x&revision=rev-aaaaaaaaaa"  # fmt: skip
    assert logger_url("https://m/?revision=old#frag", ARTIFACT) == "https://m/?revision=rev-bbbbbbbbbb#frag"
    assert logger_url("http://u:p@127.0.0.1:8090", ARTIFACT) == "http://u:p@127.0.0.1:8090/?revision=rev-bbbbbbbbbb"


def test_no_logger_no_logger_url(config):
    from mlpipex.kserve.manifests import logged_revisions

    quiet = config.model_copy(update={"deploy": config.deploy.model_copy(update={"logger": None})})
    service = build_inference_service(quiet, env(quiet, "production"), Rollout(ARTIFACT, 10, STABLE))
    assert "logger" not in service["spec"]["predictor"] and "logger" not in service["spec"]["canary"][0]["predictor"]
    assert logged_revisions(quiet, ARTIFACT, STABLE) is None
    assert logged_revisions(config, ARTIFACT, STABLE) == {"canary": "rev-bbbbbbbbbb", "stable": "rev-aaaaaaaaaa"}
    assert logged_revisions(config, ARTIFACT, None) is None  # a first rollout: nothing to compare


def test_knative_canary_uses_canary_traffic_percent(config, crd):
    knative = env(config, "production").model_copy(update={"mode": "Knative"})
    knative_config = config.model_copy(update={"deploy": config.deploy.model_copy(
        update={"replicas": config.deploy.replicas.model_copy(update={"metric": "concurrency", "target": 8})})})  # fmt: skip
    service = build_inference_service(knative_config, knative, Rollout(ARTIFACT, 25))
    assert crd.problems(service) == []
    assert_admitted(service)
    assert "name" not in service["spec"]["predictor"]
    assert service["spec"]["predictor"]["canaryTrafficPercent"] == 25
    # Knative: the new revision's spec carries the new model's marker, the stable revision keeps its own
    assert service["spec"]["predictor"]["logger"]["url"].endswith("?revision=rev-bbbbbbbbbb")
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"


def test_rules_and_errors(config):
    with pytest.raises(InputError, match="not pinned by digest"):
        build_inference_service(config, env(config, "staging"), Rollout("ghcr.io/acme/bc:1.1.0"))
    with pytest.raises(InputError, match="needs the stable model"):
        build_inference_service(config, env(config, "production"), Rollout(ARTIFACT, 10))
    scale_to_zero = config.model_copy(update={"deploy": config.deploy.model_copy(
        update={"replicas": config.deploy.replicas.model_copy(update={"min": 0})})})  # fmt: skip
    with pytest.raises(InputError, match="cannot scale to zero"):
        build_inference_service(scale_to_zero, EnvironmentConfig(name="x"), Rollout(ARTIFACT))


def test_crd_validation_names_the_field(config, crd):
    service = build_inference_service(config, env(config, "staging"), Rollout(ARTIFACT))
    service["spec"]["predictor"]["minReplicas"] = "two"
    service["spec"]["canary"] = [{"trafficPercent": 10}]
    problems = crd.problems(service)
    assert any(p.startswith("spec.predictor.minReplicas:") for p in problems)
    assert any(p.startswith("spec.canary[0]:") and "predictor" in p for p in problems)
    with pytest.raises(InputError, match="does not match the InferenceService schema"):
        crd.check(service)


@needs_crd
def test_deploy_dry_run_prints_valid_yaml(config, capsys):
    code = main(["deploy", "-c", str(config.source), "--artifact", ARTIFACT, "--env", "production",
                 "--canary", "10", "--stable-artifact", STABLE, "--crd", str(CRD), "--dry-run"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    service = yaml.safe_load(out)
    assert_admitted(service)
    assert service["kind"] == "InferenceService" and service["spec"]["canary"][0]["trafficPercent"] == 10
    assert main(["deploy", "-c", str(config.source), "--artifact", ARTIFACT, "--env", "qa", "--dry-run"]) == 2
    assert "environments: staging, production" in capsys.readouterr().err


def test_config_rejects_bad_canary_steps_and_unknown_rule_target(write_config, quickstart):
    base = (quickstart / "mlpipex.yaml").read_text().replace("models/", str(quickstart / "models") + "/")
    base = base.replace("data/", str(quickstart / "data") + "/").replace("cwd: .", f"cwd: {quickstart}")
    from mlpipex.errors import ConfigError

    bad_steps = base + "deploy:\n  environments:\n    - name: prod\n      canary: {steps: [50, 10]}\n"
    with pytest.raises(ConfigError, match="steps must rise"):
        load_config(write_config(bad_steps))
    bad_rule = base + "deploy:\n  environments:\n    - name: prod\n      rules: {after: stagin}\n"
    with pytest.raises(ConfigError, match="unknown environment `stagin`"):
        load_config(write_config(bad_rule))


@needs_crd
def test_dry_run_prints_what_deploy_sends_the_first_canary_step(config, capsys):
    """--stable-artifact without --canary: the environment's first step (10%), as deploy would send."""
    code = main(["deploy", "-c", str(config.source), "--artifact", ARTIFACT, "--env", "production",
                 "--stable-artifact", STABLE, "--crd", str(CRD), "--dry-run"])  # fmt: skip
    assert code == 0
    service = yaml.safe_load(capsys.readouterr().out)
    assert [c["trafficPercent"] for c in service["spec"]["canary"]] == [10]
    assert service["metadata"]["annotations"]["mlpipex.dev/traffic"] == "10"
    assert service["spec"]["predictor"]["model"]["storageUri"] == f"oci+fetch://{STABLE}"  # as deploy locates it
    assert_admitted(service)


def test_with_storage_uris_locates_every_model_and_leaves_the_plan_alone(config):
    """Pure: each model's storageUri from the artifact it names (stable and canary); names and state unchanged."""
    from mlpipex.kserve.manifests import with_storage_uris

    planned = build_inference_service(config, env(config, "production"), Rollout(ARTIFACT, 10, STABLE))
    before = copy.deepcopy(planned)
    asked: list[str] = []
    located = with_storage_uris(planned, lambda artifact: asked.append(artifact) or f"oci://cars.example/{artifact[-6:]}")
    assert planned == before  # a copy: the plan is not touched
    assert asked == [STABLE, ARTIFACT.replace(":1.1.0", "")]  # stable first, then the canary; by digest
    assert located["spec"]["predictor"]["model"]["storageUri"] == f"oci://cars.example/{STABLE[-6:]}"
    assert located["spec"]["canary"][0]["predictor"]["model"]["storageUri"] == f"oci://cars.example/{ARTIFACT[-6:]}"
    assert located["spec"]["canary"][0]["predictor"]["name"] == planned["spec"]["canary"][0]["predictor"]["name"]
    assert located["metadata"] == planned["metadata"]
    with pytest.raises(ValueError, match="only once"):
        with_storage_uris({"spec": {"predictor": {"model": {"storageUri": "oci+fetch://x@sha256:" + "a" * 64}}}}, str)
