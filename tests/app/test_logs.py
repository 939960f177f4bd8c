"""Issue 12, item 12: `mlpipex app serve --log-level info` logs one key=value line per delivery and
per job, with ids and outcome; no secret ever appears in them."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from providers.github_webhooks import webhook

from mlpipex.app.logs import KeyValueFormatter
from mlpipex.app.store import Store

from .conftest import SECRET, body_of, signed_headers
from .test_serve import ROOT, _port, _request

API_TOKEN = "api-token-0123456789abcdef"
ALERT_TOKEN = "alert-token-fedcba9876543210"


def lines_with(output: str, **fields: str) -> list[str]:
    return [line for line in output.splitlines() if all(f" {k}={v}" in f" {line}" for k, v in fields.items())]


@pytest.mark.timeout(60)
def test_serve_logs_each_delivery_and_job_and_never_a_secret(tmp_path: Path) -> None:
    port, db = _port(), tmp_path / "app.sqlite3"
    env = os.environ | {"MLPIPEX_WEBHOOK_SECRET": SECRET, "MLPIPEX_DATABASE_URL": f"sqlite:///{db}",
                        "MLPIPEX_API_TOKEN": API_TOKEN, "MLPIPEX_ALERT_TOKEN": ALERT_TOKEN,
                        "MLPIPEX_POLL_INTERVAL": "0.2", "PYTHONPATH": str(ROOT)}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "mlpipex", "app", "serve", "--port", str(port), "--workers", "1",
                               "--log-level", "info"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if _request(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        event = body_of(webhook("installation_repositories", {"action": "added", "installation": {"id": 9, "account": {"login": "octo-org"}},
                                                        "repositories_added": [{"full_name": "octo-org/models"}], "repositories_removed": [],
                                                        "sender": {"login": "octocat"}}))  # fmt: skip
        status, reply = _request(f"{base}/webhooks/github", event, signed_headers(event, "installation_repositories", "d-logged"))
        assert status == 202, reply
        forged = signed_headers(event, "installation_repositories", "d-forged", secret="not-the-secret")
        assert _request(f"{base}/webhooks/github", event, forged)[0] == 401
        store = Store.from_url(f"sqlite:///{db}")
        deadline = time.monotonic() + 10
        while (store.jobs.get(reply["job_id"]).status != "done") and time.monotonic() < deadline:
            time.sleep(0.05)
        store.close()
        time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    [accepted] = lines_with(output, msg="delivery", delivery="d-logged")
    job_id = reply["job_id"]
    assert "outcome=queued" in accepted and "kind=installation_repositories.added" in accepted and f"job={job_id}" in accepted
    assert "level=info" in accepted and "logger=mlpipex.app.webhooks" in accepted
    [refused] = lines_with(output, msg="delivery", delivery="d-forged")
    assert "outcome=rejected" in refused and "status=401" in refused
    [job] = lines_with(output, msg="job", job=str(job_id))
    assert "outcome=done" in job and "delivery=d-logged" in job and "attempt=1" in job
    for secret in (SECRET, API_TOKEN, ALERT_TOKEN):
        assert secret not in output


def test_the_formatter_masks_secrets_and_keeps_one_line_per_event() -> None:
    record = logging.LogRecord("mlpipex.app.worker", logging.WARNING, __file__, 1, "job", None, None)
    record.fields = {"job": 3, "error": f"failed: postgresql://app:{API_TOKEN}@db/x\nsecond line", "skip": None}
    line = KeyValueFormatter([API_TOKEN]).format(record)
    assert API_TOKEN not in line and "***" in line and "\n" not in line and "skip=" not in line
    assert line.split(" ")[1:4] == ["level=warning", "logger=mlpipex.app.worker", "msg=job"]
