"""The pure parts of "what serves, since when, and what production knows of it" (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.config.model import MonitorSourceConfig
from mlpipex.errors import ExternalError
from mlpipex.gates._baseline import Baseline, serving_since
from mlpipex.gates._production import NOT_THE_SAME_ROWS, production_numbers, serving_window
from mlpipex.kserve.manifests import predictor_name
from mlpipex.oci import DeploymentRecord, Descriptor, deployment_record_manifest

A, B, C = (f"r.example/m@sha256:{c * 64}" for c in "abc")


def entry(artifact: str, traffic: int, at: str, action: str = "deploy") -> dict:
    return {"action": action, "artifact": artifact, "traffic": traffic, "at": at}


def test_the_stable_model_serves_since_it_last_reached_100_percent():
    history = [entry(A, 100, "t1"), entry(B, 10, "t2"), entry(B, 50, "t3", "promote"),
               entry(A, 100, "t4", "rollback")]  # fmt: skip
    assert serving_since(history, A, stable=True) == "t1"  # B's canary between did not make A new
    history += [entry(B, 100, "t5"), entry(A, 100, "t6", "rollback")]
    assert serving_since(history, A, stable=True) == "t6"  # B served at 100% between: A came back at t6
    assert serving_since(history, B, stable=True) is None  # not what serves now
    assert serving_since([], A, stable=True) is None


def test_a_canary_serves_since_the_first_step_of_its_current_run():
    history = [entry(A, 100, "t1"), entry(C, 10, "t2"), entry(A, 100, "t3", "rollback"), entry(C, 10, "t4"),
               entry(C, 25, "t5", "promote")]  # fmt: skip
    assert serving_since(history, C, stable=False) == "t4"
    assert serving_since(history, A, stable=True) == "t1"


def window(revision: str, first: float, *, endpoint: str = "default", service: str = "bc", last: float = 0) -> dict:
    return {"key": {"namespace": "ml", "service": service, "component": "predictor", "revision": revision},
            "endpoint": endpoint, "requests": 10, "responses": 10, "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
            "error_rate": 0.0, "quality": {"accuracy": 0.9}, "first_seen": first, "last_seen": last or first}  # fmt: skip


def test_the_serving_window_is_chosen_as_the_canary_analysis_does():
    by_revision = [window("r1", 1), window("r2", 2), window("x", 3, service="other")]
    assert serving_window(by_revision, "ml", "bc", "stable")["key"]["revision"] == "r1"
    assert serving_window(by_revision, "ml", "bc", "canary")["key"]["revision"] == "r2"
    assert serving_window([window("r1", 1)], "ml", "bc", "canary") is None
    assert serving_window([window("r1", 1)], "ml", "bc", "stable")["key"]["revision"] == "r1"
    marked = [window("r1", 5, endpoint="canary"), window("r2", 1)]
    assert serving_window(marked, "ml", "bc", "canary")["key"]["revision"] == "r1"
    assert serving_window(marked, "ml", "bc", "stable")["key"]["revision"] == "r2"
    assert serving_window([], "ml", "bc", "stable") is None


def test_the_deployed_models_own_window_is_chosen_by_its_revision_marker():
    """mlpipex's logger URLs name each predictor: the gate takes the deployed digest's window by that name,
    where the rules by age would take another (here: the middle one of three)."""
    mine = predictor_name(A)
    windows = [window("rev-0000000001", 1), window("rev-0000000002", 2), window(mine, 3)]
    assert serving_window(windows, "ml", "bc", "stable")["key"]["revision"] == "rev-0000000002"  # by age
    assert serving_window(windows, "ml", "bc", "stable", mine)["key"]["revision"] == mine
    assert serving_window(windows[:2], "ml", "bc", "stable", mine)["key"]["revision"] == "rev-0000000001"  # unmarked
    numbers = production_numbers(baseline(), MONITOR, lambda m: windows)
    assert numbers is not None and numbers["live"]["window"] == f"ml/bc/predictor/{mine}"


def baseline(**extra) -> Baseline:
    return Baseline("bc", "1.0", Path("m.onnx"), "onnx", artifact=A, environment="production", serving="stable",
                    service=("ml", "bc"), recorded={"verdict": "pass", "results": {}, "metrics": {"auc": 0.98}},
                    **extra)  # fmt: skip


MONITOR = MonitorSourceConfig(url="http://monitor.invalid:8090", timeout=1)


def test_production_numbers_label_and_live_window():
    numbers = production_numbers(baseline(), MONITOR, lambda m: [window("r1", 1)])
    assert numbers is not None and numbers["label"] == NOT_THE_SAME_ROWS and "not comparable" in numbers["label"]
    assert numbers["recorded"]["metrics"] == {"auc": 0.98}
    assert numbers["live"]["window"] == "ml/bc/predictor/r1" and numbers["live"]["latency_ms"]["p99"] == 3.0
    assert numbers["notes"] == []


def test_what_is_missing_is_a_note():
    def down(monitor):
        raise ExternalError("cannot reach the monitor at http://monitor.invalid:8090: refused", fix="start it")

    numbers = production_numbers(baseline(), MONITOR, down)
    assert numbers["live"] is None and numbers["notes"] == [
        "no live numbers: cannot reach the monitor at http://monitor.invalid:8090: refused (fix: start it)"]
    assert "set deploy.monitor" in production_numbers(baseline(), None, None)["notes"][0]
    assert "no way to read the monitor" in production_numbers(baseline(), MONITOR, None)["notes"][0]
    empty = production_numbers(baseline(), MONITOR, lambda m: [])
    assert "has no window of the stable model of ml/bc" in empty["notes"][0]
    plain = Baseline("bc", "baseline", Path("m.onnx"), "onnx")
    assert production_numbers(plain, MONITOR, None) is None  # a file: nothing deployed is known


@pytest.mark.parametrize("by", [None, "merge of #5"])
def test_the_deployment_record_points_at_the_model_and_says_when(by):
    subject = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "a" * 64, 512)
    manifest, layer = deployment_record_manifest(subject, DeploymentRecord("production", "2026-12-01T10:00:00Z", by))
    assert manifest["subject"] == subject.to_dict() and manifest["artifactType"] == "application/vnd.mlpipex.deployment.v1"
    assert manifest["annotations"]["dev.mlpipex.environment"] == "production"
    assert manifest["annotations"]["org.opencontainers.image.created"] == "2026-12-01T10:00:00Z"
    assert manifest["annotations"].get("dev.mlpipex.deployed.by") == by
    assert manifest["layers"][0]["size"] == len(layer) and b"production" in layer
