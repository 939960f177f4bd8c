"""Every object a rollout sends, through KServe's own admission code (v0.20.0's webhooks).

Each step of a rollout is planned by the pure planners (core/kserve/rollout.py) from
the object KServe stored for the step before, and admitted as the API server would:
create for the first, update over the stored object (with the deployment mode the
controller records in status) after that.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipex.config import load_config
from mlpipex.kserve import Rollout, build_inference_service
from mlpipex.kserve.rollout import (
    plan_canary,
    plan_deploy,
    plan_prescale,
    plan_promote,
    plan_restore,
    plan_rollback,
)
from tests.kserve.cluster_fake.kserve_admission import assert_admitted, shared

ROOT = Path(__file__).resolve().parents[2]
A = "ghcr.io/acme/models/bc@sha256:" + "a" * 64
B = "ghcr.io/acme/models/bc:1.1.0@sha256:" + "b" * 64
C = "ghcr.io/acme/models/bc@sha256:" + "c" * 64

PLACEMENT = {
    "gpu": {"count": 1},
    "cpu": "2",
    "memory": "4Gi",
    "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
    "logger": {"url": "http://mlpipex-monitor.mlpipex.svc/events", "mode": "request"},
    "service_account": "bc-serving",
    "image_pull_secrets": ["ghcr-pull"],
}  # fmt: skip

# Every autoscaling setting the config lets through, per mode (the rest is refused at validate).
AUTOSCALING = [
    ("Standard", {"min": 1, "max": 3}),
    ("Standard", {"min": 2, "max": 6, "metric": "cpu", "target": 75}),
    ("Standard", {"min": 1, "max": 4, "metric": "memory", "target": 60}),
    ("Standard", {"min": 3, "max": 3}),
    ("Knative", {"min": 1, "max": 3}),
    ("Knative", {"min": 0, "max": 5, "metric": "concurrency", "target": 8}),
    ("Knative", {"min": 1, "max": 10, "metric": "rps", "target": 200}),
]


def _config(quickstart, mode: str, replicas: dict[str, Any], *, runtime: str | None = None, gpu: bool = True):
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    deploy = {**copy.deepcopy(PLACEMENT), "mode": mode, "replicas": replicas}
    if not gpu:
        for key in ("gpu", "node_selector", "tolerations", "affinity"):
            deploy.pop(key)
    if runtime:
        deploy["runtime"] = runtime
    deploy["environments"] = [{"name": "production", "namespace": "ml", "canary": {"steps": [10, 50, 100]}}]
    data["deploy"] = deploy
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


class Cluster:
    """What the API server keeps between steps: KServe's defaulted object, and the mode in status."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stored: dict[str, Any] | None = None

    def send(self, obj: dict[str, Any]) -> dict[str, Any]:
        old = self.stored
        admitted = assert_admitted(obj, old)
        admitted["status"] = {"deploymentMode": self.mode}
        self.stored = admitted
        return admitted


def marked(obj: dict[str, Any]) -> list[str]:
    """The revision each predictor's logger URL names (stable first, then the canaries), checked against
    the predictor's own name where it has one; the URL keeps the monitor's host, path and mode."""
    predictors = [obj["spec"]["predictor"]] + [c["predictor"] for c in obj["spec"].get("canary") or []]
    found = []
    for predictor in predictors:
        logger = predictor["logger"]
        base, _, revision = logger["url"].partition("?revision=")
        assert base == PLACEMENT["logger"]["url"] and logger["mode"] == "request", logger
        assert predictor.get("name", revision) == revision, predictor
        found.append(revision)
    return found


@pytest.mark.parametrize(("mode", "replicas"), AUTOSCALING, ids=lambda v: str(v))
def test_every_rollout_step_is_admitted(quickstart, kserve_admission, mode, replicas):
    config = _config(quickstart, mode, replicas)
    env = config.deploy.environments[0]
    cluster = Cluster(mode)
    first = cluster.send(plan_deploy(config, env, None, Rollout(A)))  # first rollout: 100%
    canary = cluster.send(plan_deploy(config, env, first, Rollout(B)))  # the first step, 10%
    dialled = cluster.send(plan_canary(config, env, canary, 30))  # an operator sets 30%
    fifty = cluster.send(plan_promote(config, env, dialled, None))  # next step: 50%
    during = copy.deepcopy(cluster)
    full = cluster.send(plan_promote(config, env, fifty, None))  # 100%
    after = cluster.send(plan_rollback(config, env, full))  # rollback after a full promotion
    assert after["metadata"]["annotations"]["mlpipex.dev/artifact"] == A
    assert during.send(plan_rollback(config, env, fifty))["metadata"]["annotations"]["mlpipex.dev/artifact"] == A
    again = cluster.send(plan_deploy(config, env, after, Rollout(C)))  # a third model, after the rollback
    # Each predictor's logger URL names the model it serves, as KServe stored it, through every step:
    # the canary's own (not the stable's, merged in), kept by the zero-restart promotion, the old one's after a rollback.
    assert [marked(o) for o in (first, canary, dialled, fifty, full, after, again)] == [
        ["rev-aaaaaaaaaa"], ["rev-aaaaaaaaaa", "rev-bbbbbbbbbb"], ["rev-aaaaaaaaaa", "rev-bbbbbbbbbb"],
        ["rev-aaaaaaaaaa", "rev-bbbbbbbbbb"], ["rev-bbbbbbbbbb"], ["rev-aaaaaaaaaa"], ["rev-aaaaaaaaaa", "rev-cccccccccc"],
    ] if mode == "Standard" else [["rev-aaaaaaaaaa"], *[["rev-bbbbbbbbbb"]] * 4, ["rev-aaaaaaaaaa"], ["rev-cccccccccc"]]  # fmt: skip
    if mode == "Standard":
        assert [c["trafficPercent"] for c in canary["spec"]["canary"]] == [10]
        # the documented zero-restart promotion: the stable predictor takes the canary's name
        assert full["spec"]["predictor"]["name"] == fifty["spec"]["canary"][0]["predictor"]["name"] == "rev-bbbbbbbbbb"
        assert "canary" not in full["spec"] and again["spec"]["canary"][0]["predictor"]["name"] == "rev-cccccccccc"
    else:
        assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 10 and "canary" not in canary["spec"]
        assert "canaryTrafficPercent" not in full["spec"]["predictor"]


@pytest.mark.parametrize("replicas", [{"min": 4, "max": 8}, {"min": 2, "max": 6, "metric": "cpu", "target": 75}],
                         ids=lambda v: str(v))  # fmt: skip
def test_a_canary_promoted_to_100_is_first_scaled_to_the_stables_minimum_and_kserve_admits_it(quickstart, kserve_admission,
                                                                                              replicas):  # fmt: skip
    """The pre-scale of a full promotion (plan_prescale): KServe's canaryReplicaCount gives the canary
    ceil(min × share) replicas; the step before the promotion sets its minReplicas to the stable's (C14:
    not above it), at the same weights, as an update over the stored object and as a create."""
    config = _config(quickstart, "Standard", replicas)
    env = config.deploy.environments[0]
    cluster = Cluster("Standard")
    first = cluster.send(plan_deploy(config, env, None, Rollout(A)))
    canary = cluster.send(plan_deploy(config, env, first, Rollout(B)))  # 10%
    fifty = cluster.send(plan_promote(config, env, canary, None))  # 50%
    full = plan_promote(config, env, fifty, None)
    scaled = plan_prescale(fifty, full)
    assert scaled is not None
    assert scaled["spec"]["canary"][0]["predictor"]["minReplicas"] == replicas["min"]
    assert scaled["spec"]["canary"][0]["trafficPercent"] == 50  # the weights do not move yet
    assert scaled["metadata"]["annotations"] == fifty["metadata"]["annotations"]
    assert assert_admitted(copy.deepcopy(scaled))["spec"]["canary"][0]["predictor"]["minReplicas"] == replicas["min"]
    stored = cluster.send(scaled)  # an update over the 50% object
    assert {k: v for k, v in stored["spec"].items() if k != "canary"} == {k: v for k, v in fifty["spec"].items() if k != "canary"}
    promoted = cluster.send(full)  # and the promotion over the scaled object (the entry dropped)
    assert "canary" not in promoted["spec"] and promoted["spec"]["predictor"]["name"] == "rev-bbbbbbbbbb"
    # One replica more than the stable's is what KServe refuses (C14): the pre-scale stops at equal.
    above = copy.deepcopy(scaled)
    above["spec"]["canary"][0]["predictor"]["minReplicas"] = replicas["min"] + 1
    assert shared().admit("create", above).message == (f'canary "rev-bbbbbbbbbb" minReplicas ({replicas["min"] + 1}) '
                                                       f'must not exceed stable predictor minReplicas ({replicas["min"]})')  # fmt: skip
    # No pre-scale where none is needed: a step below 100%, a rollback, a canary already at the stable's size.
    assert plan_prescale(canary, plan_promote(config, env, canary, None)) is None
    assert plan_prescale(fifty, plan_rollback(config, env, fifty)) is None
    assert plan_prescale(stored, full) is None


def test_no_pre_scale_where_the_canary_already_has_the_stables_size_or_no_canary_entry(quickstart, kserve_admission):
    """minReplicas 1 (ceil(1 × share) is 1) and Knative (canaryTrafficPercent, one Deployment) have nothing to scale."""
    for mode in ("Standard", "Knative"):
        config = _config(quickstart, mode, {"min": 1, "max": 3})
        env = config.deploy.environments[0]
        cluster = Cluster(mode)
        canary = cluster.send(plan_deploy(config, env, cluster.send(plan_deploy(config, env, None, Rollout(A))), Rollout(B)))
        assert plan_prescale(canary, plan_promote(config, env, canary, 100)) is None


@pytest.mark.parametrize("mode", ["Standard", "Knative"])
def test_a_step_that_never_became_ready_is_undone_by_restoring_the_object_as_it_was(quickstart, kserve_admission, mode):
    """deploy.on_not_ready: rollback applies the object from before the step again — its own spec
    (placement included), as KServe's webhook defaulted it — not one rebuilt from today's config."""
    config = _config(quickstart, mode, {"min": 1, "max": 2})
    env = config.deploy.environments[0]
    cluster = Cluster(mode)
    first = cluster.send(plan_deploy(config, env, None, Rollout(A)))
    full = cluster.send(plan_promote(config, env, cluster.send(plan_deploy(config, env, first, Rollout(B))), 100))
    stuck = cluster.send(plan_deploy(config, env, full, Rollout(C)))  # say C's pods are never placed
    restored = cluster.send(plan_restore(full, stuck, by="mlpipex"))  # KServe's own admission, an update
    assert restored["spec"] == full["spec"]  # B, exactly as it served (placement, names, defaults)
    notes = restored["metadata"]["annotations"]
    assert notes["mlpipex.dev/artifact"] == B and notes["mlpipex.dev/traffic"] == "100"
    history = json.loads(notes["mlpipex.dev/history"])
    assert [h["action"] for h in history[-2:]] == ["deploy", "rollback"]  # the failed step stays on record
    assert history[-1]["artifact"] == B and history[-1]["by"] == "mlpipex"
    for server_field in ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp"):
        assert server_field not in plan_restore(full | {"metadata": {**full["metadata"], server_field: "x"}}, stuck)["metadata"]


@pytest.mark.parametrize("mode", ["Standard", "Knative"])
@pytest.mark.parametrize("runtime", [None, "mlpipex-onnx"])
def test_cpu_only_and_named_runtime_are_admitted(quickstart, kserve_admission, mode, runtime):
    config = _config(quickstart, mode, {"min": 1, "max": 2}, runtime=runtime, gpu=False)
    env = config.deploy.environments[0]
    cluster = Cluster(mode)
    first = cluster.send(plan_deploy(config, env, None, Rollout(A)))
    model = first["spec"]["predictor"]["model"]
    # modelFormat onnx gets no protocol default from KServe: without a runtime only Triton (v2) serves it
    assert model["protocolVersion"] == "v2" and model.get("runtime") == runtime
    if runtime:  # KServe's controller needs the named runtime to list the format and the protocol
        served = yaml.safe_load((ROOT / "deploy" / "kserve" / "servingruntime.yaml").read_text())
        assert served["metadata"]["name"] == runtime
        assert model["modelFormat"]["name"] in [f["name"] for f in served["spec"]["supportedModelFormats"]]
        assert model["protocolVersion"] in served["spec"]["protocolVersions"]
    cluster.send(plan_deploy(config, env, first, Rollout(B)))


def test_kserve_refuses_what_mlpipex_used_to_send(quickstart, kserve_admission):
    """The oracle is KServe's code: the objects built before this fix are refused with its messages."""
    config = _config(quickstart, "Standard", {"min": 1, "max": 3, "metric": "cpu", "target": 80})
    env = config.deploy.environments[0]
    service = build_inference_service(config, env, Rollout(B, 10, A))
    named = copy.deepcopy(service)
    named["spec"]["predictor"]["model"]["name"] = "kserve-container"
    assert shared().admit("create", named).message == "the 'name' field is not allowed in standard predictor"
    unnamed = copy.deepcopy(service)
    del unnamed["spec"]["canary"][0]["predictor"]["name"]
    assert shared().admit("create", unnamed).message == "canary[0] predictor.name is required"
    scaled = copy.deepcopy(service)
    scaled["spec"]["canary"][0]["predictor"]["maxReplicas"] = 3
    assert shared().admit("create", scaled).message == 'canary "rev-bbbbbbbbbb" must not set maxReplicas (canary uses fixed replicas)'
    knative = build_inference_service(config, env.model_copy(update={"mode": "Knative"}), Rollout(A))
    verdict = shared().admit("create", knative)
    assert not verdict.allowed and verdict.message == "[cpu] is not a supported metric"
