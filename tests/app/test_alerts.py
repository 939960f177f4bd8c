"""Alert intake: mlpipex drift alerts and Alertmanager v4 notifications, authenticated, idempotent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.app import create_app
from mlpipex.app.auth import sign
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.settings import Settings

from .conftest import SECRET

TOKEN = "alert-token-123"
DRIFT = {
    "id": "churn-production-2026-11-28T12:00",
    "model": "churn",
    "repository": "octo-org/models",
    "environment": "production",
    "window": {"start": "2026-11-28T11:00:00Z", "end": "2026-11-28T12:00:00Z", "samples": 5000},
    "features": [
        {"name": "tenure", "test": "ks", "statistic": 0.31, "p_value": 0.0001, "drifted": True},
        {"name": "plan", "test": "psi", "statistic": 0.27, "psi": 0.27, "drifted": True},
    ],
    "verdict": "drift",
    "severity": "critical",
    "fired_at": "2026-11-28T12:00:05Z",
}


def alertmanager(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {"version": "4", "groupKey": "{}:{alertname=\"ModelDrift\"}", "truncatedAlerts": 0, "status": status,
            "receiver": "mlpipex", "groupLabels": {"alertname": "ModelDrift"}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}  # fmt: skip


def am_alert(fingerprint: str, labels: dict[str, str], status: str = "firing", starts: str = "2026-11-28T12:00:00Z") -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": "ModelDrift"} | labels,
            "annotations": {"summary": "drift on tenure"}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    registry = HandlerRegistry()
    registry.register("alert.drift")(lambda payload, ctx: None)
    settings = Settings(webhook_secret=SECRET, alert_token=TOKEN, worker_threads=0,
                        database_url=f"sqlite:///{tmp_path / 'app.db'}", allowed_repositories="octo-org/models")  # fmt: skip
    yield TestClient(create_app(settings, registry=registry))


def jobs(client: TestClient) -> list[Any]:
    return client.app.state.mlpipex.store.jobs.list(kind="alert.drift")  # type: ignore[attr-defined, no-any-return]


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_a_drift_alert_is_queued_once(client: TestClient) -> None:
    first = client.post("/alerts/drift", json=DRIFT, headers=BEARER)
    again = client.post("/alerts/drift", json=DRIFT, headers=BEARER)
    assert first.status_code == 202 and first.json()["results"][0]["status"] == "queued"
    assert again.json()["results"][0] == first.json()["results"][0] | {"status": "duplicate"}
    [job] = jobs(client)
    assert job.payload["source"] == "mlpipex" and job.payload["repository"] == {"full_name": "octo-org/models"}
    assert job.payload["alert"]["features"][0]["p_value"] == 0.0001 and job.payload["alert"]["severity"] == "critical"


def test_hmac_with_the_webhook_secret_also_authenticates(client: TestClient) -> None:
    body = json.dumps(DRIFT).encode()
    reply = client.post("/alerts/drift", content=body, headers={"X-Mlpipex-Signature-256": sign(SECRET, body),
                                                                 "Content-Type": "application/json"})  # fmt: skip
    assert reply.status_code == 202 and len(jobs(client)) == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"X-Mlpipex-Signature-256": "sha256=" + "0" * 64}])  # fmt: skip
def test_unauthenticated_alerts_queue_nothing(client: TestClient, headers: dict[str, str]) -> None:
    reply = client.post("/alerts/drift", json=DRIFT, headers=headers)
    assert reply.status_code == 401 and jobs(client) == []


@pytest.mark.parametrize("change", [
    {"repository": "not a repo"}, {"severity": "apocalyptic"}, {"id": ""}, {"fired_at": "yesterday"},
    {"features": [{"name": "x", "test": "ks", "statistic": 0.1, "p_value": 2.0, "drifted": True}]},
    {"unexpected": 1}, {"fired_at": 1764331205},  # a number is not read as a Unix time
    {"features": [{"name": "x", "test": "psi", "statistic": "0.2", "psi": "AAA", "drifted": 0}]},  # no coercion
])  # fmt: skip
def test_invalid_alerts_are_422_and_queue_nothing(client: TestClient, change: dict[str, Any]) -> None:
    reply = client.post("/alerts/drift", json=DRIFT | change, headers=BEARER)
    assert reply.status_code == 422 and isinstance(reply.json()["detail"], list) and jobs(client) == []


def test_a_repository_outside_the_allow_list_is_ignored(client: TestClient) -> None:
    reply = client.post("/alerts/drift", json=DRIFT | {"repository": "evil/repo"}, headers=BEARER)
    assert reply.json()["results"][0]["status"] == "ignored" and jobs(client) == []


def test_alertmanager_firing_alerts_become_drift_jobs(client: TestClient) -> None:
    body = alertmanager(
        am_alert("aaa1", {"model": "churn", "repository": "octo-org/models", "severity": "critical"}),
        am_alert("bbb2", {"model": "churn"}),  # no repository label
        am_alert("ccc3", {"model": "churn", "repository": "octo-org/models"}, status="resolved"),
    )
    reply = client.post("/alerts/alertmanager", json=body, headers=BEARER)
    assert reply.status_code == 202
    assert [r["status"] for r in reply.json()["results"]] == ["queued", "ignored", "ignored"]
    assert "no repository label" in reply.json()["results"][1]["reason"]
    [job] = jobs(client)
    assert job.payload["source"] == "alertmanager"
    assert (job.payload["alert"]["model"], job.payload["alert"]["severity"]) == ("churn", "critical")
    # The same firing again (Alertmanager repeats notifications): nothing new. A new firing: a new job.
    client.post("/alerts/alertmanager", json=body, headers=BEARER)
    assert len(jobs(client)) == 1
    refired = alertmanager(am_alert("aaa1", {"model": "churn", "repository": "octo-org/models"}, starts="2026-11-29T08:00:00Z"))
    client.post("/alerts/alertmanager", json=refired, headers=BEARER)
    assert len(jobs(client)) == 2


def test_alertmanager_needs_version_4(client: TestClient) -> None:
    reply = client.post("/alerts/alertmanager", json=alertmanager() | {"version": "3"}, headers=BEARER)
    assert reply.status_code == 422


def test_without_a_drift_handler_alerts_are_ignored(tmp_path: Path) -> None:
    settings = Settings(webhook_secret=SECRET, alert_token=TOKEN, worker_threads=0, database_url=f"sqlite:///{tmp_path / 'a.db'}")
    client = TestClient(create_app(settings, registry=HandlerRegistry()))
    reply = client.post("/alerts/drift", json=DRIFT, headers=BEARER)
    assert reply.json()["results"][0] == {"id": DRIFT["id"], "status": "ignored", "job_id": None, "reason": "no handler for alert.drift"}
