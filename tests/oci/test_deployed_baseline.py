"""The compare gate names the deployed model it compared with: when it was deployed, stable or canary,
and what is known of it in production (its package's recorded metrics, the monitor's live window).

Real parts: Debian's docker-registry (distribution 2.8: no referrers API, so the deployment
record goes through the referrers tag schema), the monitor's own app served over HTTP
(RunningMonitor), the KServe CRD-validating fake API server for the InferenceService.
Model A is the quickstart's model (accuracy 0.977); B is models/baseline.onnx (0.947).
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from mlpipex.oci import RegistryClient, deployment_records, parse_reference

from .test_baseline_artifact import candidate_b, cli, deployable, gate_compare, push_a

TARGET = "models/breast-cancer"


def edit(project: Path, change) -> None:  # type: ignore[no-untyped-def]
    config = yaml.safe_load((project / "mlpipex.yaml").read_text())
    change(config)
    (project / "mlpipex.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def deploy(capsys, artifact: str, *extra: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    return cli(capsys, "deploy", "--env", "production", "--artifact", artifact, "--timeout", "5", *extra)


def push_b(capsys, project: Path, target: str) -> str:  # type: ignore[no-untyped-def]
    """Package and push model B (version 0.9.0) under tag 0.9; its REF@DIGEST."""
    def to_b(config: dict) -> None:
        config["model"].update(path="models/baseline.onnx", version="0.9.0")

    edit(project, to_b)
    code, out, err = cli(capsys, "package", "--allow-ungated", "--report", str(project / "no-report.json"))
    assert code == 0, out + err
    code, out, err = cli(capsys, "push", "--to", f"{target}:0.9")
    assert code == 0, err
    return out.splitlines()[-1]


def compare_of(report_dir: Path) -> dict:
    report = json.loads((report_dir / "report.json").read_text())
    return next(g for g in report["gates"] if g["gate"] == "compare")


def test_the_tag_move_records_when_and_the_gate_reports_it_from_the_registry(packaged, registry, kube, capsys,
                                                                           tmp_path, monkeypatch):  # fmt: skip
    """Item 1 (tags on by default: deployable() no longer sets environment_tags) and item 2, registry path."""
    target = f"{registry.address}/{TARGET}"
    a = push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    assert "environment_tags" not in yaml.safe_load((packaged / "mlpipex.yaml").read_text())["deploy"]
    code, out, err = deploy(capsys, a)
    assert code == 0 and "warning" not in err, out + err
    client = RegistryClient(registry.address)
    ref = parse_reference(a)
    assert client.resolve(parse_reference(f"{target}:production")) == ref.digest  # the default moves it
    [record] = deployment_records(client, ref, "production")
    assert record.at.endswith("Z")
    assert deployment_records(client, ref, "staging") == []
    # the model's own manifest is untouched: the record only points at it (its subject)
    assert client.get_manifest(ref)[2] == ref.digest
    code, out, err = cli(capsys, "inspect", f"{target}@{ref.digest}")
    assert code == 0 and f"deployed    production since {record.at}" in out, out + err
    assert "evidence    application/vnd.mlpipex.gate-report.v1" in out  # the gate report is still there

    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # CI without the cluster: the tag
    code, out, err = gate_compare(capsys, tmp_path / "report")
    assert code == 1, out + err
    assert f"deployed in production (stable) since {record.at}, from the deployment record in {registry.address}" in out
    assert f"deployed {record.at}" in compare_of(tmp_path / "report")["message"]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["baseline"]["deployed_at"] == record.at and report["baseline"]["environment"] == "production"
    assert report["baseline"]["serving"] == "stable"
    assert compare_of(tmp_path / "report")["details"]["baseline_deployed_at"] == record.at
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert f"deployed {record.at}" in markdown and "production (stable)" in markdown
    properties = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "report" / "junit.xml").iter("property")}
    assert properties["baseline_deployed_at"] == record.at and properties["baseline_environment"] == "production (stable)"


def test_a_tag_moved_by_hand_says_unknown(packaged, registry, capsys, tmp_path, monkeypatch):
    """Item 2: neither the cluster nor a record knows when: the reports say so."""
    target = f"{registry.address}/{TARGET}"
    push_a(capsys, target)
    assert cli(capsys, "push", "--to", f"{target}:production")[0] == 0  # a tag, no deployment record
    deployable(packaged, registry.address, tmp_path)
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err
    assert "deployed in production (stable) since unknown" in out
    assert "deployed unknown" in compare_of(tmp_path)["message"]
    assert json.loads((tmp_path / "report.json").read_text())["baseline"]["deployed_at"] is None
    assert "deployed unknown" in (tmp_path / "report.md").read_text()


def test_the_live_inferenceservice_says_when_and_the_canary_is_compared_only_when_asked(packaged, registry, kube,
                                                                                      capsys, tmp_path):  # fmt: skip
    """Items 2 (live path) and 4: stable by default, the canary with baseline.serving: canary."""
    target = f"{registry.address}/{TARGET}"
    a = push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    assert deploy(capsys, a)[0] == 0
    b = push_b(capsys, packaged, target)
    code, out, err = deploy(capsys, b, "--canary", "10")
    assert code == 0 and "warning" not in err, out + err
    history = json.loads(kube.objects[("ml-prod", "breast-cancer")]["metadata"]["annotations"]["mlpipex.dev/history"])
    assert [h["traffic"] for h in history] == [100, 10]

    # stable by default: A, and B (the candidate) regressed against it
    candidate_b(packaged, {"environment": "production"})
    code, out, err = gate_compare(capsys, tmp_path / "stable")
    assert code == 1, out + err
    assert "production (live InferenceService ml-prod/breast-cancer, context prod)" in out
    assert f"@{parse_reference(a).digest}" in out and "rollout history of InferenceService ml-prod/breast-cancer" in out
    baseline = json.loads((tmp_path / "stable" / "report.json").read_text())["baseline"]
    assert baseline["serving"] == "stable" and baseline["deployed_at"] and baseline["version"] == "1.1.0"
    assert baseline["deployed_at"] == history[0]["at"]  # when A reached 100%, not B's canary step

    # canary asked: B, the same model as the candidate: no regression
    candidate_b(packaged, {"environment": "production", "serving": "canary"})
    code, out, err = gate_compare(capsys, tmp_path / "canary")
    assert code == 0, out + err
    assert "production (canary, live InferenceService ml-prod/breast-cancer" in out and f"@{parse_reference(b).digest}" in out
    baseline = json.loads((tmp_path / "canary" / "report.json").read_text())["baseline"]
    assert baseline["serving"] == "canary" and baseline["version"] == "0.9.0"
    assert baseline["deployed_at"] == history[1]["at"]

    # the canary promoted to 100%: none running any more; canary asked = the stable model, with a note
    assert cli(capsys, "promote", "--env", "production", "--to", "100", "--timeout", "5")[0] == 0
    code, out, err = gate_compare(capsys, tmp_path / "promoted")
    assert code == 0, out + err  # B is now the stable model
    assert "no canary is running in production: compared with the stable model" in out
    compare = compare_of(tmp_path / "promoted")
    assert compare["details"]["baseline_serving"] == "stable"
    assert "no canary is running" in compare["details"]["baseline_notes"][0]


def test_canary_asked_without_cluster_access_uses_the_stable_tag_and_says_so(packaged, registry, kube, capsys,
                                                                             tmp_path, monkeypatch):  # fmt: skip
    target = f"{registry.address}/{TARGET}"
    a = push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    assert deploy(capsys, a)[0] == 0
    candidate_b(packaged, {"environment": "production", "serving": "canary"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err
    assert "baseline.serving is canary, but the cluster did not say (cluster not used: no usable kubeconfig" in out
    assert json.loads((tmp_path / "report.json").read_text())["baseline"]["serving"] == "stable"


def test_serving_without_an_environment_is_exit_2(quickstart, capsys, monkeypatch):
    monkeypatch.chdir(quickstart)
    candidate_b(quickstart, {"artifact": "ghcr.io/acme/bc:1.0", "serving": "canary"})
    code, out, err = cli(capsys, "validate")
    assert code == 2 and "baseline.serving" in out + err and "baseline.environment" in out + err, out + err


# -- what is known of the deployed model in production -------------------------------------------------


@pytest.fixture
def monitor(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from mlpipex.monitor import ModelInfo, MonitorSettings, create_monitor_app
    from mlpipex.monitor._auth import MonitorAuth, Token
    from tests.monitor.conftest import RunningMonitor

    auth = MonitorAuth(tokens=(Token.of("ci", "read-token", frozenset({"read"})),
                               Token.of("kserve", "ingest-token", frozenset({"ingest", "labels"}))))  # fmt: skip
    model = ModelInfo("breast-cancer", features=("mean radius",), baseline={"accuracy": 0.97})
    settings = MonitorSettings(state_dir=tmp_path / "monitor", models={"breast-cancer": model},
                               schedule_seconds=3600, quality_min_labels=20, auth=auth)  # fmt: skip
    server = RunningMonitor(create_monitor_app(settings))
    yield server
    server.stop()


def production_traffic(monitor, n: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Served requests of the stable revision, with latencies of 5..24 ms, one error in ten, and labels."""
    import httpx

    from tests.monitor._kserve_events import headers, v2_request, v2_response

    pod = "breast-cancer-predictor-00001-deployment-5d8f7c9b4-x7k2p"
    auth = {"Authorization": "Bearer ingest-token"}
    items = []
    with httpx.Client(base_url=monitor.url, headers=auth) as client:
        for i in range(n):
            start, event_id = time.time(), f"prod-{i}"
            common = {"service": "breast-cancer", "namespace": "ml-prod", "pod": pod}
            assert client.post("/", headers={**auth, **headers(event_id, "request", when=start, **common)},
                               content=v2_request([[14.0]])).status_code == 200  # fmt: skip
            response = headers(event_id, "response", when=start + (5 + i % 20) / 1000, **common)
            if i % 10 == 0:  # an error: the response's payload says so
                body = json.dumps({"error": "boom"}).encode()
            else:
                body = v2_response([1], [[0.1, 0.9]])
            assert client.post("/", headers={**auth, **response}, content=body).status_code == 200
            items.append({"id": event_id, "label": 1 if i % 5 else 0})
        assert client.post("/api/v1/labels", json={"items": items}).status_code == 200
    monitor.monitor.scheduler.check()


def with_monitor(project: Path, url: str) -> None:
    edit(project, lambda c: c["deploy"].update(monitor={"url": url, "timeout": 2}))


def test_recorded_metrics_and_live_numbers_beside_the_comparison(packaged, registry, kube, monitor, capsys, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    """Item 3: (a) A's package's recorded smoke metrics, (b) the monitor's window, in JSON, markdown and JUnit."""
    target = f"{registry.address}/{TARGET}"
    a = push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    assert deploy(capsys, a)[0] == 0
    production_traffic(monitor)
    with_monitor(packaged, monitor.url)
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("MLPIPEX_MONITOR_TOKEN", "read-token")
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1, out + err  # the offline comparison decides; production numbers only inform
    production = compare_of(tmp_path)["details"]["production"]
    assert "not the same rows" in production["label"] or "not comparable row for row" in production["label"]
    assert production["artifact"] == f"{target}@{parse_reference(a).digest}"
    recorded = production["recorded"]
    assert recorded["verdict"] == "pass" and recorded["metrics"]["accuracy"] == pytest.approx(0.977, abs=0.002)
    live = production["live"]
    assert live["window"].startswith("ml-prod/breast-cancer/predictor/")
    assert live["monitor"] == monitor.url and live["requests"] == 40
    assert 5 <= live["latency_ms"]["p50"] <= 25 and live["latency_ms"]["p50"] <= live["latency_ms"]["p99"] <= 25
    assert live["error_rate"] == pytest.approx(0.1, abs=0.03)
    assert live["labels"] == 36 and live["quality"]["accuracy"] == pytest.approx(0.8, abs=0.15)  # labels join the 36 answered requests
    markdown = (tmp_path / "report.md").read_text()
    assert "The deployed model in production (not the same rows as this holdout)" in markdown
    assert "| Metric | Deployed model on this holdout | Recorded when packaged | Live: monitor window |" in markdown
    assert "| latency p99 |" in markdown and "| error rate |" in markdown
    properties = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "junit.xml").iter("property")}
    assert float(properties["production_recorded_accuracy"]) == pytest.approx(0.977, abs=0.002)
    assert float(properties["production_live_error_rate"]) == pytest.approx(0.1, abs=0.03)
    assert "production_live_latency_p95_ms" in properties


@pytest.mark.parametrize("case", ["unreachable", "refused"])
def test_a_monitor_that_cannot_be_read_is_a_note_not_a_failure(packaged, registry, kube, monitor, capsys, tmp_path,
                                                               monkeypatch, case):  # fmt: skip
    from tests.oci.conftest import free_port

    target = f"{registry.address}/{TARGET}"
    a = push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    assert deploy(capsys, a)[0] == 0
    with_monitor(packaged, monitor.url if case == "refused" else f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLPIPEX_MONITOR_TOKEN", "ingest-token")  # no read scope
    edit(packaged, lambda c: c["model"].update(path="models/model.onnx"))
    candidate_b(packaged, {"environment": "production"})
    edit(packaged, lambda c: c["model"].update(path="models/model.onnx"))  # A against A: passes
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 0, out + err
    compare = compare_of(tmp_path)
    assert compare["status"] == "pass"
    notes = " ".join(compare["details"]["production"]["notes"])
    assert compare["details"]["production"]["live"] is None
    if case == "refused":
        assert "refused" in notes and "MLPIPEX_MONITOR_TOKEN" in notes and "ingest-token" not in notes
    else:
        assert "cannot reach the monitor" in notes
    assert "no live numbers" in (tmp_path / "report.md").read_text()


# -- failure cases of baseline.environment ----------------------------------------------------------------


def test_nothing_deployed_skips_with_a_note_or_fails_when_required(packaged, registry, capsys, tmp_path, monkeypatch):
    deployable(packaged, registry.address, tmp_path)
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 0 and "production does not exist" in out + err and "nothing deployed" in out + err, out + err
    compare = compare_of(tmp_path)
    assert compare["status"] == "skip"
    assert "(cluster not used: no usable kubeconfig" in compare["message"]  # why the tag was asked, not the cluster
    edit(packaged, lambda c: c["gates"]["compare"].update(require_baseline=True))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 1 and "require_baseline is on" in out + err, out + err


def test_an_unreachable_registry_is_exit_3_naming_it_and_the_fix(packaged, registry, capsys, tmp_path, monkeypatch):
    deployable(packaged, registry.address, tmp_path)
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    registry.stop()
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 3, out + err
    assert f"cannot reach registry {registry.address}" in out + err and "baseline.environment" in out + err
    assert "retry when it is" in out + err  # the fix


def test_refused_credentials_on_the_environment_tag_are_exit_3(packaged, auth_registry, capsys, tmp_path,
                                                                monkeypatch):  # fmt: skip
    from .conftest import PASSWORD, USER

    target = f"{auth_registry.address}/{TARGET}"
    monkeypatch.setenv("DOCKER_CONFIG", str(packaged / "no-docker-config"))
    monkeypatch.setenv("MLPIPEX_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", PASSWORD)
    push_a(capsys, target)
    assert cli(capsys, "push", "--to", f"{target}:production")[0] == 0
    deployable(packaged, auth_registry.address, tmp_path)
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", "wrong")
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 3, out + err
    assert auth_registry.address in out + err and "MLPIPEX_REGISTRY_USERNAME" in out + err
    assert "wrong" not in out + err and PASSWORD not in out + err


def test_no_cluster_and_no_tags_is_exit_3_not_a_skip(packaged, registry, capsys, tmp_path, monkeypatch):
    """With deploy.environment_tags off the cluster is the only truth: not reading it is not "nothing deployed"."""
    deployable(packaged, registry.address, tmp_path)
    edit(packaged, lambda c: c["deploy"].update(environment_tags=False))
    candidate_b(packaged, {"environment": "production"})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 3, out + err
    assert "cannot read what serves there" in out + err and "no usable kubeconfig" in out + err
    assert "deploy.environment_tags" in out + err and "context prod" in out + err  # the fix names both ways


def _without_kubernetes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As if the `kserve` extra (the kubernetes client) were not installed."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "kubernetes" else real(name, *a))  # fmt: skip


def test_a_kubeconfig_without_the_kserve_extra_is_exit_2_not_a_quiet_fallback(packaged, registry, capsys, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    target = f"{registry.address}/{TARGET}"
    push_a(capsys, target)
    deployable(packaged, registry.address, tmp_path)
    candidate_b(packaged, {"environment": "production"})
    _without_kubernetes(monkeypatch)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    code, out, err = gate_compare(capsys, tmp_path)
    assert code == 2, out + err
    assert "KUBECONFIG is set" in out + err and "pip install 'mlpipex[kserve]'" in out + err

    # No KUBECONFIG: the job was given no cluster, so the registry tag is read, and the note says why.
    monkeypatch.delenv("KUBECONFIG")
    code, out, err = gate_compare(capsys, tmp_path)
    assert code != 2, out + err
    assert "the `kserve` extra is not installed" in out + err
