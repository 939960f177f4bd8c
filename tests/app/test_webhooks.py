"""POST /webhooks/github: verification, routing, idempotency; nothing queued for a rejected request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from providers.github_webhooks import webhook

from mlpipex.app import create_app
from mlpipex.app.auth import sign, signature_matches
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.settings import Settings
from mlpipex.app.store import Store

from .conftest import SECRET, body_of, signed_headers

# A real issue_comment.created (GitHub's example) with our repository, installation and command in it.
COMMENT = webhook("issue_comment", {"action": "created", "repository": {"full_name": "octo-org/models"},
                                    "installation": {"id": 42, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI="},
                                    "comment": {"body": "/promote"}})  # fmt: skip


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    registry = HandlerRegistry()
    registry.register("issue_comment.created")(lambda payload, ctx: None)
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path / 'app.db'}", worker_threads=0,
                        allowed_repositories="octo-org/models,octo-org/other", max_body_bytes=64 * 1024)  # fmt: skip
    app = create_app(settings, registry=registry)
    yield TestClient(app), app.state.mlpipex.store


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/webhooks/github", content=body, headers=headers)


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, b"Hello, World!") == expected
    assert signature_matches(SECRET, b"Hello, World!", expected)
    assert not signature_matches(SECRET, b"Hello, World?", expected)
    assert not signature_matches(SECRET, b"Hello, World!", expected.replace("sha256=", "sha1="))
    assert not signature_matches(SECRET, b"Hello, World!", None)


def test_a_valid_comment_is_queued_as_its_kind(app_store: Any) -> None:
    client, store = app_store
    body = body_of(COMMENT)
    reply = post(client, body, signed_headers(body, "issue_comment", "d-1"))
    assert reply.status_code == 202
    assert reply.json()["status"] == "queued" and reply.json()["kind"] == "issue_comment.created"
    [job] = store.jobs.list()
    assert (job.kind, job.payload, job.status) == ("issue_comment.created", COMMENT, "queued")


def test_a_redelivery_queues_once(app_store: Any) -> None:
    client, store = app_store
    body = body_of(COMMENT)
    first = post(client, body, signed_headers(body, "issue_comment", "d-1"))
    again = post(client, body, signed_headers(body, "issue_comment", "d-1"))
    assert first.status_code == 202 and again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["job_id"] == first.json()["job_id"]
    assert len(store.jobs.list()) == 1


def test_ping_is_answered(app_store: Any) -> None:
    client, store = app_store
    body = body_of({"zen": "Keep it logically awesome.", "hook_id": 1})
    reply = post(client, body, signed_headers(body, "ping"))
    assert reply.status_code == 200 and reply.json()["status"] == "pong"
    assert store.jobs.list() == []


def test_a_repository_outside_the_allow_list_is_recorded_and_ignored(app_store: Any) -> None:
    client, store = app_store
    body = body_of(COMMENT | {"repository": {"full_name": "evil/repo"}})
    reply = post(client, body, signed_headers(body, "issue_comment", "d-evil"))
    assert reply.status_code == 202 and reply.json()["status"] == "ignored"
    assert "not in MLPIPEX_ALLOWED_REPOSITORIES" in reply.json()["reason"]
    assert store.jobs.list() == [] and store.deliveries.get("d-evil")["outcome"] == "ignored"


def test_an_unhandled_kind_is_ignored(app_store: Any) -> None:
    client, store = app_store
    body = body_of(COMMENT | {"action": "deleted"})
    reply = post(client, body, signed_headers(body, "issue_comment"))
    assert reply.status_code == 202 and reply.json() | {"job_id": None} == {
        "status": "ignored", "kind": "issue_comment.deleted", "job_id": None, "reason": "no handler for issue_comment.deleted"}  # fmt: skip
    assert store.jobs.list() == []


def _rejections() -> list[tuple[str, bytes, dict[str, str], int]]:
    body = body_of(COMMENT)
    good = signed_headers(body, "issue_comment", "d-x")
    drop = lambda name: {k: v for k, v in good.items() if k != name}  # noqa: E731
    not_json = b"payload=%7B%7D"
    return [
        ("missing signature", body, drop("X-Hub-Signature-256"), 401),
        ("wrong secret", body, signed_headers(body, "issue_comment", "d-x", secret="guess"), 401),
        ("body changed after signing", body + b" ", good, 401),
        ("sha1 signature", body, good | {"X-Hub-Signature-256": "sha1=" + "0" * 40}, 401),
        ("missing event header", body, drop("X-GitHub-Event"), 400),
        ("malformed event header", body, good | {"X-GitHub-Event": "issue comment!"}, 400),
        ("missing delivery header", body, drop("X-GitHub-Delivery"), 400),
        ("malformed JSON", b'{"action": ', signed_headers(b'{"action": ', "issue_comment"), 400),
        ("form-encoded body", not_json, signed_headers(not_json, "issue_comment"), 400),
        ("JSON that is not an object", b"[1]", signed_headers(b"[1]", "issue_comment"), 400),
        ("oversized body", b"x" * (64 * 1024 + 1), signed_headers(b"x" * (64 * 1024 + 1), "issue_comment"), 413),
    ]


@pytest.mark.parametrize(("why", "body", "headers", "status"), _rejections(), ids=[r[0] for r in _rejections()])
def test_rejected_requests_queue_nothing(app_store: Any, why: str, body: bytes, headers: dict[str, str], status: int) -> None:
    client, store = app_store
    reply = post(client, body, headers)
    assert reply.status_code == status, reply.text
    assert "detail" in reply.json()
    assert store.jobs.list() == [] and store.deliveries.count() == 0


def test_an_oversized_chunked_body_is_refused_without_content_length(app_store: Any) -> None:
    client, store = app_store
    body = b"x" * (200 * 1024)
    headers = signed_headers(body, "issue_comment")

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    reply = client.post("/webhooks/github", content=chunks(), headers=headers)
    assert reply.status_code == 413 and store.deliveries.count() == 0


def test_the_app_refuses_to_start_without_a_webhook_secret(tmp_path: Path) -> None:
    from mlpipex.errors import ConfigError

    with pytest.raises(ConfigError, match="MLPIPEX_WEBHOOK_SECRET"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    with pytest.raises(ConfigError):
        create_app(Settings(webhook_secret="", database_url=f"sqlite:///{tmp_path / 'a.db'}"))


def test_a_queued_job_runs_on_the_in_process_worker(tmp_path: Path) -> None:
    registry = HandlerRegistry()
    ran: list[tuple[dict[str, Any], str | None]] = []
    registry.register("issue_comment.created")(lambda payload, ctx: ran.append((payload, ctx.delivery_id)))
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        worker_threads=1, poll_interval=5.0)  # fmt: skip
    body = body_of(COMMENT)
    with TestClient(create_app(settings, registry=registry)) as client:
        assert post(client, body, signed_headers(body, "issue_comment", "delivery-77")).status_code == 202
        store = client.app.state.mlpipex.store  # type: ignore[attr-defined]
        import time

        deadline = time.monotonic() + 4  # well under the poll interval: the endpoint woke the worker
        while store.jobs.counts()["done"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert ran == [(json.loads(body), "delivery-77")]


def test_a_thousand_bad_deliveries_execute_nothing_and_leave_the_service_healthy(app_store: Any) -> None:
    import random

    client, store = app_store
    rng = random.Random(1234)
    good = body_of(COMMENT)
    statuses = []
    for i in range(1000):
        body = good
        headers = signed_headers(good, "issue_comment", f"bad-{i}")
        choice = i % 8
        if choice == 0:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))  # noise, signature of another body
        elif choice == 1:
            headers["X-Hub-Signature-256"] = "sha256=" + "".join(rng.choice("0123456789abcdef") for _ in range(64))
        elif choice == 2:
            headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"][: rng.randint(0, 70)]
        elif choice == 3:
            headers = signed_headers(good, "issue_comment", f"bad-{i}", secret=f"guess-{i}")
        elif choice == 4:
            del headers["X-Hub-Signature-256"]
        elif choice == 5:  # correctly signed, but not JSON
            body = good[: rng.randint(1, len(good) - 1)]
            headers = signed_headers(body, "issue_comment", f"bad-{i}")
        elif choice == 6:  # correctly signed, no event header
            del headers["X-GitHub-Event"]
        else:  # correctly signed, hostile delivery id
            headers["X-GitHub-Delivery"] = "../../" + "x" * rng.randint(0, 200)
        statuses.append(post(client, body, headers).status_code)
    assert all(400 <= s < 500 for s in statuses), sorted(set(statuses))
    assert store.jobs.list() == [] and store.deliveries.count() == 0
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    reply = post(client, good, signed_headers(good, "issue_comment", "good-after"))
    assert reply.status_code == 202 and reply.json()["status"] == "queued"
