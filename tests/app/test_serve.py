"""`mlpipex app serve` as a real process: uvicorn, the lifespan worker, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from providers.github_webhooks import webhook

from mlpipex.app.store import Store

from .conftest import SECRET, body_of, signed_headers

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.timeout(60)
def test_serve_answers_webhooks_runs_jobs_and_stops_cleanly(tmp_path: Path) -> None:
    port, db = _port(), tmp_path / "app.sqlite3"
    env = os.environ | {"MLPIPEX_WEBHOOK_SECRET": SECRET, "MLPIPEX_DATABASE_URL": f"sqlite:///{db}",
                        "MLPIPEX_POLL_INTERVAL": "0.2", "PYTHONPATH": str(ROOT)}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "mlpipex", "app", "serve", "--port", str(port), "--workers", "1"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if _request(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        assert _request(f"{base}/readyz") == (200, {"status": "ready", "database": True, "worker": True})
        ping = body_of({"zen": "Design for failure.", "hook_id": 1})
        assert _request(f"{base}/webhooks/github", ping, signed_headers(ping, "ping"))[1]["status"] == "pong"
        event = body_of(webhook("installation_repositories", {"action": "added", "installation": {"id": 9, "account": {"login": "octo-org"}},
                                                        "repositories_added": [{"full_name": "octo-org/models"}], "repositories_removed": [],
                                                        "sender": {"login": "octocat"}}))  # fmt: skip
        status, reply = _request(f"{base}/webhooks/github", event, signed_headers(event, "installation_repositories"))
        assert (status, reply["status"], reply["kind"]) == (202, "queued", "installation_repositories.added")
        store = Store.from_url(f"sqlite:///{db}")
        deadline = time.monotonic() + 10
        while store.installations.installation_for("octo-org/models") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.installations.installation_for("octo-org/models") == 9, "the built-in handler ran in the server's worker"
        store.close()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why it stopped.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert SECRET not in output
