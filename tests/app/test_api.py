"""Health, readiness, the audit API, settings and the CLI's app commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlpipex.app import create_app
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.settings import Settings
from mlpipex.cli import main

from .conftest import SECRET


def make(tmp_path: Path, **overrides: object) -> TestClient:
    settings = Settings(webhook_secret=SECRET, worker_threads=0, database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        **overrides)  # type: ignore[arg-type]  # fmt: skip
    return TestClient(create_app(settings, registry=HandlerRegistry()))


def test_health_and_readiness(tmp_path: Path) -> None:
    client = make(tmp_path)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "database": True, "worker": None}
    client.app.state.mlpipex.store.engine.dispose()  # type: ignore[attr-defined]
    (tmp_path / "app.db").unlink()
    (tmp_path / "app.db").mkdir()  # the database file is gone and cannot be recreated
    reply = client.get("/readyz")
    assert reply.status_code == 503 and reply.json()["database"] is False


def test_readiness_reports_a_dead_worker(tmp_path: Path) -> None:
    settings = Settings(webhook_secret=SECRET, worker_threads=1, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    app = create_app(settings, registry=HandlerRegistry())
    with TestClient(app) as client:
        assert client.get("/readyz").json()["worker"] is True
        app.state.mlpipex.worker.stop()
        assert client.get("/readyz").status_code == 503


def test_the_audit_api_needs_its_token_and_pages(tmp_path: Path) -> None:
    client = make(tmp_path, api_token="api-secret")
    store = client.app.state.mlpipex.store  # type: ignore[attr-defined]
    for i in range(5):
        store.audit.record(actor="alice", action="promote", outcome="succeeded", repository="o/a", model="churn", to_digest=f"sha256:{i}")
    store.audit.record(actor="bob", action="rollback", outcome="refused", repository="o/b", model="fraud")
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": "Bearer api-secret"}
    page = client.get("/api/audit", params={"repository": "o/a", "limit": 3}, headers=auth).json()
    assert [e["to_digest"] for e in page["entries"]] == ["sha256:4", "sha256:3", "sha256:2"]
    rest = client.get("/api/audit", params={"repository": "o/a", "limit": 3, "before": page["next_before"]}, headers=auth).json()
    assert [e["to_digest"] for e in rest["entries"]] == ["sha256:1", "sha256:0"] and rest["next_before"] is None
    assert [e["actor"] for e in client.get("/api/audit", params={"model": "fraud"}, headers=auth).json()["entries"]] == ["bob"]


def test_the_audit_api_is_off_without_a_token(tmp_path: Path) -> None:
    reply = make(tmp_path).get("/api/audit", headers={"Authorization": "Bearer "})
    assert reply.status_code == 503 and "MLPIPEX_API_TOKEN" in reply.json()["detail"]
    assert make(tmp_path).get("/api/jobs").status_code == 503


def test_the_jobs_api_shows_dead_letters(tmp_path: Path) -> None:
    client = make(tmp_path, api_token="api-secret")
    store = client.app.state.mlpipex.store  # type: ignore[attr-defined]
    store.jobs.enqueue("alert.drift", {})
    dead_id, _ = store.jobs.enqueue("issue_comment.created", {})
    store.jobs.enqueue("push", {})
    job = store.jobs.claim("w", lease_seconds=30)
    assert job.id == 1
    store.jobs.fail(job, "w", "first")
    job = store.jobs.claim("w", lease_seconds=30)
    store.jobs.fail(job, "w", "GitHub said 422", retry=False)
    assert client.get("/api/jobs", params={"status": "dead"}).status_code == 401
    page = client.get("/api/jobs", params={"status": "dead"}, headers={"Authorization": "Bearer api-secret"}).json()
    assert [(j["id"], j["kind"], j["last_error"]) for j in page["jobs"]] == [(dead_id, "issue_comment.created", "GitHub said 422")]
    assert page["counts"] == {"queued": 1, "running": 0, "done": 0, "failed": 1, "dead": 1}


def test_old_deliveries_and_finished_jobs_are_pruned(tmp_path: Path) -> None:
    from datetime import timedelta

    from mlpipex.app.store import Store

    from .conftest import Clock

    clock = Clock()
    store = Store.from_url(f"sqlite:///{tmp_path / 'p.db'}", clock=clock)
    store.create_schema()
    store.deliveries.record("old", event="push", action=None, repository="o/r", installation_id=1, job_kind="push", payload={})
    store.jobs.claim("w", lease_seconds=30)
    store.jobs.complete(1, "w")
    dead, _ = store.jobs.enqueue("k", {})
    store.jobs.fail(store.jobs.claim("w", lease_seconds=30), "w", "x", retry=False)
    clock.now += timedelta(days=31)
    store.deliveries.record("new", event="push", action=None, repository="o/r", installation_id=1, job_kind=None, payload={})
    assert store.prune(30) == {"deliveries": 1, "jobs": 1}
    assert store.deliveries.get("new") is not None and store.jobs.get(dead).status == "dead"


def test_settings_from_the_environment_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIPEX_WEBHOOK_SECRET", "hunter2-webhook")
    monkeypatch.setenv("MLPIPEX_DATABASE_URL", "postgresql://app:hunter2-db@db/app")
    monkeypatch.setenv("MLPIPEX_ALLOWED_REPOSITORIES", "Octo-Org/Models, octo-org/other")
    monkeypatch.setenv("MLPIPEX_APP_ID", "1234")
    monkeypatch.setenv("MLPIPEX_API_TOKEN", "hunter2-api")
    settings = Settings()
    assert settings.allowed_repositories == ["octo-org/models", "octo-org/other"] and settings.app_id == 1234
    assert settings.allows("OCTO-ORG/models") and not settings.allows("evil/repo")
    text = repr(settings) + str(settings) + settings.model_dump_json()
    assert "hunter2" not in text
    monkeypatch.setenv("MLPIPEX_ALLOWED_REPOSITORIES", "just-a-name")
    with pytest.raises(ValueError, match="not owner/name"):
        Settings()


def test_cli_refuses_to_serve_without_a_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MLPIPEX_WEBHOOK_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["app", "serve", "--port", "0"]) == 2
    assert "MLPIPEX_WEBHOOK_SECRET" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "nothing created before the check"


def test_cli_prints_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "manifest", "--url", "https://mlpipex.example.com/"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["hook_attributes"]["url"] == "https://mlpipex.example.com/webhooks/github"
    assert manifest["default_permissions"] == {"checks": "write", "pull_requests": "write", "issues": "write",
                                               "contents": "write", "deployments": "write", "metadata": "read",
                                               "members": "read"}  # fmt: skip
    assert set(manifest["default_events"]) == {"issue_comment", "pull_request", "check_run", "push"}
    assert main(["app", "manifest", "--url", "ftp://x"]) == 2


def test_the_pure_parts_work_without_fastapi_or_sqlalchemy() -> None:
    """A base install has neither: the manifest, the alert format and `mlpipex --help` still work."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('fastapi', 'sqlalchemy', 'starlette', 'uvicorn'):\n"
        "    sys.modules[name] = None  # importing them now raises ImportError\n"
        "from mlpipex.app.alerts import DriftAlert\n"
        "from mlpipex.app.manifest import build_manifest\n"
        "from mlpipex.cli import main\n"
        "assert build_manifest('https://x.example.com')['hook_attributes']['url'].endswith('/webhooks/github')\n"
        "sys.exit(main(['app', 'manifest', '--url', 'https://x.example.com']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "mlpipex"
