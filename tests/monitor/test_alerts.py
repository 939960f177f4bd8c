"""Alerts: hysteresis (pure), quality and drift checks firing once to a real receiver, and the durable outbox."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _kserve_events import Receiver, free_port, headers, v2_request, v2_response, wait_until

from mlpipex.monitor import Hysteresis, ModelAlerts, ModelInfo, MonitorSettings, step
from mlpipex.monitor._alerts import alert_body

httpx = pytest.importorskip("httpx")


def run(states: list[bool | None], fire_after: int = 2, resolve_after: int = 3) -> list[str | None]:
    state, actions = Hysteresis(), []
    for t, drifted in enumerate(states):
        state, action = step(state, drifted, fire_after=fire_after, resolve_after=resolve_after, now=float(t))
        actions.append(action)
    return actions


def test_hysteresis_fires_once_for_a_lasting_drift_and_resolves_after_clean_checks() -> None:
    assert run([True] * 10).count("fire") == 1
    assert run([True, False, True, False, True]) == [None] * 5  # never two in a row: no alert
    actions = run([True, True, True, False, False, True, False, False, False, True, True])
    assert actions == [None, "fire", None, None, None, None, None, None, "resolve", None, "fire"]
    assert run([True, None, True]) == [None, None, "fire"]  # too few samples changes nothing
    assert Hysteresis.from_dict(Hysteresis(3, 0, True, 5.0).to_dict()) == Hysteresis(3, 0, True, 5.0)


def test_the_alert_body_is_what_the_app_accepts() -> None:
    body = alert_body(alert_id="mlpipex-monitor:drift:ml/fraud/predictor/fraud-predictor-00001:abc", model="fraud",
                      repository="acme/fraud-model", environment="production", window_label="ml/fraud",
                      window_start=1_700_000_000.0, window_end=1_700_000_900.0, samples=5000,
                      features=[{"name": "amount", "test": "ks", "statistic": 0.31, "p_value": 1e-12,
                                 "adjusted_p_value": 4e-12, "psi": None, "drifted": True},
                                {"name": "country", "test": "psi", "statistic": 0.3, "p_value": None, "psi": 0.3,
                                 "drifted": True}],
                      severity="critical", fired_at=1_700_000_900.0, summary="2 of 2 features drifted")  # fmt: skip
    assert set(body) == {"id", "model", "repository", "environment", "window", "features", "verdict", "severity",
                         "fired_at", "summary"}  # fmt: skip
    assert body["features"][0] == {"name": "amount", "test": "ks", "statistic": 0.31, "p_value": 4e-12, "psi": None,
                                   "drifted": True}  # fmt: skip
    assert body["window"] == {"start": "2023-11-14T22:13:20.000000Z", "end": "2023-11-14T22:28:20.000000Z",
                              "samples": 5000}  # fmt: skip
    try:
        from mlpipex.app.alerts import DriftAlert  # the App's own model, when the App is installed
    except ImportError:
        return
    DriftAlert.model_validate_json(json.dumps(body))  # as the App's endpoint reads it: JSON on the wire


def quality_settings(state: Path, url: str, **extra: Any) -> MonitorSettings:
    model = ModelInfo("fraud", features=("amount", "age"), baseline={"accuracy": 0.95},
                      repository="acme/fraud-model", environment="production")  # fmt: skip
    return MonitorSettings(state_dir=state, models={"fraud": model}, schedule_seconds=3600,
                           alerts=ModelAlerts(url=url, token_env="TEST_MONITOR_TOKEN", fire_after=2, resolve_after=2),
                           quality_min_labels=100, **extra)  # fmt: skip


def labelled_traffic(client: httpx.Client, n: int, *, accuracy: float, prefix: str) -> None:
    rng = np.random.default_rng(7)
    items = []
    for i in range(n):
        event_id = f"{prefix}-{i}"
        now = time.time()
        assert client.post("/", headers=headers(event_id, "request", when=now),
                           content=v2_request([[float(i), 30.0]])).status_code == 200  # fmt: skip
        assert client.post("/", headers=headers(event_id, "response", when=now + 0.01),
                           content=v2_response([1], [[0.2, 0.8]])).status_code == 200  # fmt: skip
        items.append({"id": event_id, "label": 1 if rng.random() < accuracy else 0})
    assert client.post("/api/v1/labels", json={"items": items}).json()["joined"] == n


def test_a_quality_drop_fires_one_alert_over_many_checks(tmp_path: Path, serve_monitor,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    monkeypatch.setenv("TEST_MONITOR_TOKEN", "s3cret-token")
    receiver = Receiver()
    try:
        server = serve_monitor(quality_settings(tmp_path / "state", receiver.url))
        with httpx.Client(base_url=server.url) as client:
            labelled_traffic(client, 200, accuracy=0.6, prefix="q")
        scheduler = server.monitor.scheduler
        for _ in range(6):
            scheduler.check()
            scheduler.deliver()
        assert len(receiver.received) == 1
        [alert] = receiver.received
        assert alert["model"] == "fraud" and alert["repository"] == "acme/fraud-model"
        assert alert["summary"].startswith("quality drop: accuracy 0.")
        assert receiver.headers[0]["Authorization"] == "Bearer s3cret-token"
        window = next(iter(server.monitor.ingestor.windows.values()))
        assert window.quality_metrics["drop_p_value"] < 0.01 and window.quality_metrics["labels"] == 200
    finally:
        receiver.close()


def test_no_alert_when_quality_holds(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    try:
        server = serve_monitor(quality_settings(tmp_path / "state", receiver.url))
        with httpx.Client(base_url=server.url) as client:
            labelled_traffic(client, 200, accuracy=1.0, prefix="ok")
        for _ in range(4):
            server.monitor.scheduler.check()
            server.monitor.scheduler.deliver()
        assert receiver.received == []
    finally:
        receiver.close()


def test_pending_alerts_and_windows_survive_a_restart_and_are_sent_once(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens there yet: the receiver is down
    url = f"http://127.0.0.1:{port}/alerts/drift"
    state = tmp_path / "state"
    first = serve_monitor(quality_settings(state, url))
    with httpx.Client(base_url=first.url) as client:
        labelled_traffic(client, 150, accuracy=0.5, prefix="r")
    for _ in range(3):
        first.monitor.scheduler.check()
        first.monitor.scheduler.deliver()
    assert first.monitor.store.alert_counts() == {"pending": 1, "sent": 0, "rejected": 0}
    first.stop()  # shutdown saves the windows

    receiver = Receiver(port=port)
    try:
        second = serve_monitor(quality_settings(state, url, tick_seconds=0.1))
        window = next(iter(second.monitor.ingestor.windows.values()))
        assert window.requests == 150 and window.quality.size == 150  # the window came back
        assert wait_until(lambda: len(receiver.received) == 1, timeout=15)  # retried after its backoff
        for _ in range(3):  # still firing: the hysteresis came back too, so no second alert
            second.monitor.scheduler.check()
            second.monitor.scheduler.deliver()
        time.sleep(0.5)
        assert len(receiver.received) == 1
        assert second.monitor.store.alert_counts() == {"pending": 0, "sent": 1, "rejected": 0}
    finally:
        receiver.close()


def test_a_receiver_that_rejects_the_alert_is_not_retried_forever(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver(status=422)
    try:
        server = serve_monitor(quality_settings(tmp_path / "state", receiver.url))
        with httpx.Client(base_url=server.url) as client:
            labelled_traffic(client, 120, accuracy=0.5, prefix="x")
        for _ in range(3):
            server.monitor.scheduler.check()
            server.monitor.scheduler.deliver()
        assert server.monitor.store.alert_counts() == {"pending": 0, "sent": 0, "rejected": 1}
    finally:
        receiver.close()


def test_alert_features_carry_only_finite_numbers() -> None:
    body = alert_body(alert_id="a", model="m", repository=None, environment="production", window_label="w",
                      window_start=0.0, window_end=1.0, samples=1, severity="warning", fired_at=1.0, summary="s",
                      features=[{"name": "x", "test": "psi", "statistic": float("inf"), "psi": float("inf"),
                                 "p_value": None, "drifted": True},
                                {"name": "y", "test": "ks", "statistic": float("nan"), "p_value": float("nan"),
                                 "psi": None, "drifted": False}])  # fmt: skip
    assert body["features"][0]["statistic"] == 1e300 and body["features"][0]["psi"] == 1e300
    assert body["features"][1]["statistic"] == 0.0 and body["features"][1]["p_value"] is None
    assert "repository" not in body  # a plain webhook without a repository still gets the alert


def test_the_scheduler_checks_on_its_own_at_the_configured_interval(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    try:
        settings = dataclasses.replace(quality_settings(tmp_path / "state", receiver.url), schedule_seconds=0.3,
                                       tick_seconds=0.05)  # fmt: skip
        server = serve_monitor(settings)
        with httpx.Client(base_url=server.url) as client:
            labelled_traffic(client, 150, accuracy=0.5, prefix="auto")
        assert wait_until(lambda: len(receiver.received) == 1, timeout=15)  # fired after two scheduled checks
        checks = server.monitor.scheduler.checks
        assert wait_until(lambda: server.monitor.scheduler.checks >= checks + 3, timeout=15)
        assert len(receiver.received) == 1
    finally:
        receiver.close()
