"""Drift alerts and /retrain open one retraining pull request per model, and update it while it is open."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import yaml

from mlpipex.app.alerts import DriftAlert
from mlpipex.app.retraining import render_body, retrain_record
from mlpipex.config import load_config

ALERT = {
    "id": "monitor:breast-cancer:2026-11-28T12:00:00Z", "model": "breast-cancer", "repository": "acme/models",
    "environment": "production", "fired_at": "2026-11-28T12:00:00Z", "severity": "warning",
    "window": {"start": "2026-11-28T11:00:00Z", "end": "2026-11-28T12:00:00Z", "samples": 5000},
    "features": [
        {"name": "mean radius", "test": "ks", "statistic": 0.31, "p_value": 1e-12, "drifted": True},
        {"name": "texture|<b>@team", "test": "ks", "statistic": 0.02, "p_value": 0.8, "drifted": False},
    ],
}  # fmt: skip


def post_alert(world, alert):
    body = json.dumps(alert).encode()
    response = world.client.post("/alerts/drift", content=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer alert-token"})  # fmt: skip
    assert response.status_code in (200, 202), response.text
    world.work()


def retrain_pulls(world):
    return {n: p for n, p in world.github.pulls.items() if p["head_ref"] == "mlpipex/retrain/breast-cancer"}


def test_a_drift_alert_opens_one_pull_request_and_later_ones_update_it(world):
    post_alert(world, ALERT)
    [(number, pull)] = retrain_pulls(world).items()
    assert pull["title"].startswith("Retrain breast-cancer: drift in mean radius")
    assert "```mermaid" in pull["body"] and "xychart-beta" in pull["body"] and "| mean radius | ks | 0.3100 |" in pull["body"]
    outside_charts = re.sub(r"```mermaid\n.*?\n```", "", pull["body"], flags=re.S)
    assert "@team" not in outside_charts  # a feature name cannot ping anyone (no mentions in code blocks)
    assert world.github.labels[number] == ["retraining", "ml"]
    recorded = yaml.safe_load(world.github.files[world.github.branches["mlpipex/retrain/breast-cancer"]][".mlpipex/retrain/breast-cancer.yaml"])
    assert recorded["trigger"] == f"drift alert {ALERT['id']}" and recorded["data_window"]["samples"] == 5000
    assert recorded["drift"][0]["feature"] == "mean radius" and recorded["drift"][0]["drifted"] is True

    post_alert(world, ALERT)  # the same alert again: idempotent, nothing new
    post_alert(world, {**ALERT, "id": "monitor:breast-cancer:2026-11-28T13:00:00Z", "fired_at": "2026-11-28T13:00:00Z"})
    assert list(retrain_pulls(world)) == [number]  # still one pull request, updated
    updated = yaml.safe_load(world.github.files[world.github.branches["mlpipex/retrain/breast-cancer"]][".mlpipex/retrain/breast-cancer.yaml"])
    assert updated["alert"]["id"].endswith("13:00:00Z")
    assert any("Updated by a new trigger" in r for r in world.github.replies(number))
    entries = [e for e in world.store.audit.query(repository="acme/models") if e.action == "retrain"]
    assert len(entries) == 2


def test_retrain_command_takes_the_same_path(world):
    world.github.open_pull(5, head="x", author="dev")
    world.comment(5, "dev", '/retrain --reason "new labels arrived"')
    [(number, pull)] = retrain_pulls(world).items()
    assert pull["title"] == "Retrain breast-cancer: new labels arrived"
    assert "Retraining pull request for `breast-cancer`" in world.last_reply(5)
    world.comment(5, "reader", "/retrain")
    assert "needs `write`" in world.last_reply(5) and list(retrain_pulls(world)) == [number]


def test_the_body_is_pure_and_bounded():
    from mlpipex.config.model import Config

    config = Config.model_validate({"apiVersion": "mlpipex/v1", "model": {"name": "m", "version": "1", "path": "m.onnx",
                                    "task": "classification"}, "data": {"holdout": "h.csv", "label": "y"}})  # fmt: skip
    alert = DriftAlert.model_validate_json(json.dumps({**ALERT, "features": [
        {"name": f"f{i}", "test": "ks", "statistic": i / 100, "p_value": 0.01, "drifted": True} for i in range(60)]}))
    record = retrain_record(config, trigger="t", actor="a", reason="r", alert=alert)
    body = render_body(record, alert)
    chart = body.split("```mermaid")[1]
    assert chart.count('"f') == 50 and '"f59"' in chart and '"f9"' not in chart  # the 50 largest statistics are charted
    assert len(re.findall(r"^\| f\d+ \|", body, flags=re.M)) == 60  # every feature is in the table


def test_the_schedule_opens_the_pull_request_at_its_minute_once(world):
    import datetime as dt

    from mlpipex.app import schedules

    text = world.github.files[world.github.branches["main"]]["mlpipex.yaml"]
    data = yaml.safe_load(text)
    data["retraining"]["schedule"] = "0 6 * * 1"  # Mondays 06:00 UTC
    world.github.commit("main", {"mlpipex.yaml": yaml.safe_dump(data, sort_keys=False)})
    schedules._cache.clear()

    def tick(minute: str, delivery: str) -> None:
        world.store.jobs.enqueue(schedules.KIND, {"minute": minute}, dedupe_key=f"test:{delivery}")
        world.work(limit=1)

    tick("2026-11-30T05:59", "a")
    assert retrain_pulls(world) == {}
    tick("2026-11-30T06:00", "b")
    [(number, pull)] = retrain_pulls(world).items()
    assert pull["title"] == "Retrain breast-cancer: scheduled retraining (2026-11-30T06:00 UTC)"
    tick("2026-11-30T06:00", "c")  # the same minute again (another replica's tick): updates, never a second PR
    assert list(retrain_pulls(world)) == [number]
    ticks = [j for j in world.store.jobs.list(limit=500) if j.kind == schedules.KIND]
    assert {j.dedupe_key for j in ticks} >= {f"{schedules.KIND}:2026-11-30T06:01"}  # each tick queues the next minute
    schedules.start_ticking(world.store, dt.datetime(2026, 11, 30, 6, 0, 30))
    schedules.start_ticking(world.store, dt.datetime(2026, 11, 30, 6, 0, 40))  # replicas starting: one chain
    assert len([j for j in world.store.jobs.list(limit=500) if j.dedupe_key == f"{schedules.KIND}:2026-11-30T06:01"]) == 1


def test_the_monitors_alert_for_a_model_with_its_own_service_name_opens_its_pull_request(world):
    """Issue 12 item 8: with ``deploy.name`` set the monitor knows the model by that name and
    alerts with it; the App used to match ``model.name`` only, and the job dead-lettered."""
    from mlpipex.kserve import service_name
    from mlpipex.monitor import alert_body

    main = world.github.branches["main"]
    data = yaml.safe_load(world.github.files[main]["mlpipex.yaml"])
    data["deploy"]["name"] = "bc-serving"
    world.github.commit("main", {"mlpipex.yaml": yaml.safe_dump(data, sort_keys=False)}, parent=main)


    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mlpipex.yaml"
        path.write_text(yaml.safe_dump(data))
        name = service_name(load_config(path, check_files=False))
    assert name == "bc-serving"
    body = alert_body(alert_id="mlpipex-monitor:drift:ml-prod/bc-serving:1", model=name, repository="acme/models",
                      environment="production", window_label="ml-prod/bc-serving", window_start=1_700_000_000.0,
                      window_end=1_700_000_900.0, samples=500, severity="warning", fired_at=1_700_000_900.0,
                      summary="1 of 1 features drifted",
                      features=[{"name": "mean radius", "test": "ks", "statistic": 0.4, "p_value": 1e-9, "drifted": True}])  # fmt: skip
    post_alert(world, body)
    assert [j.status for j in world.store.jobs.list() if j.kind == "alert.drift"] == ["done"]
    [pull] = retrain_pulls(world).values()  # the model's own branch, mlpipex/retrain/breast-cancer
    assert pull["title"].startswith("Retrain breast-cancer")
    [entry] = [e for e in world.store.audit.query(repository="acme/models") if e.action == "retrain"]
    assert entry.model == "breast-cancer"
