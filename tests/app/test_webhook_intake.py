"""The hot webhook route (mlpipex.app.webhooks.WebhookIntake, served ahead of FastAPI) answers exactly as
the FastAPI route does: the same status, the same JSON, the same rows, for good and bad deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.app import create_app
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.settings import Settings

from .conftest import SECRET, body_of, signed_headers
from .test_webhook_schemas import HOSTILE
from .test_webhooks import COMMENT, _rejections

LIMIT = 64 * 1024


def _client(tmp_path: Path, name: str, *, hot: bool) -> TestClient:
    registry = HandlerRegistry()
    for kind in ("issue_comment.created", "pull_request.closed", "check_run.requested_action"):
        registry.register(kind)(lambda payload, ctx: None)
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path / name}", worker_threads=0,
                        allowed_repositories="octo-org/models,octo-org/other", max_body_bytes=LIMIT)  # fmt: skip
    app = create_app(settings, registry=registry)
    if not hot:
        app.hot_routes.clear()  # every request through FastAPI's route, as before the hot route existed
    return TestClient(app)


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    yield _client(tmp_path, "hot.db", hot=True), _client(tmp_path, "fastapi.db", hot=False)


def _cases() -> list[tuple[str, bytes, dict[str, str]]]:
    comment = body_of(COMMENT)
    ping = body_of({"zen": "Keep it logically awesome.", "hook_id": 1})
    outside = body_of(COMMENT | {"repository": {"full_name": "evil/repo"}})
    unhandled = body_of(COMMENT | {"action": "deleted"})
    cases = [(why, body, headers) for why, body, headers, _ in _rejections()]
    cases += [(f"schema-{i}", body_of(payload), signed_headers(body_of(payload), event, f"d-hostile-{i}"))
              for i, (event, payload, _) in enumerate(HOSTILE)]  # fmt: skip
    cases += [
        ("queued", comment, signed_headers(comment, "issue_comment", "d-1")),
        ("duplicate", comment, signed_headers(comment, "issue_comment", "d-1")),
        ("replayed", comment, signed_headers(comment, "issue_comment", "d-2")),
        ("ping", ping, signed_headers(ping, "ping", "d-ping")),
        ("outside the allow-list", outside, signed_headers(outside, "issue_comment", "d-outside")),
        ("unhandled kind", unhandled, signed_headers(unhandled, "issue_comment", "d-unhandled")),
        ("signature with spaces", comment, signed_headers(comment, "issue_comment", "d-3")
         | {"X-Hub-Signature-256": " " + signed_headers(comment, "issue_comment")["X-Hub-Signature-256"] + " "}),
    ]  # fmt: skip
    return cases


def test_the_hot_route_answers_every_delivery_as_the_fastapi_route_does(clients: Any) -> None:
    hot, plain = clients
    for why, body, headers in _cases():
        a = hot.post("/webhooks/github", content=body, headers=headers)
        b = plain.post("/webhooks/github", content=body, headers=headers)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), why
        assert a.headers["content-type"] == b.headers["content-type"] == "application/json", why
    stores = [c.app.state.mlpipex.store for c in clients]  # type: ignore[attr-defined]
    rows = [[(j.kind, j.payload, j.status) for j in s.jobs.list()] for s in stores]
    assert rows[0] == rows[1] and len(rows[0]) == 1
    for delivery in ("d-1", "d-2", "d-ping", "d-outside", "d-unhandled", "d-hostile-0", "d-x"):
        a, b = (_without_time(s.deliveries.get(delivery)) for s in stores)
        assert a == b, delivery


def _without_time(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: v for k, v in row.items() if k != "received_at"}


def test_the_webhook_is_answered_ahead_of_fastapi_routing(tmp_path: Path) -> None:
    client = _client(tmp_path, "a.db", hot=True)
    app: Any = client.app
    reached: list[str] = []

    async def fastapi_side(scope: Any, receive: Any, send: Any) -> None:  # stands in for all of FastAPI's handling
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app.middleware_stack = fastapi_side
    body = body_of(COMMENT)
    reply = client.post("/webhooks/github", content=body, headers=signed_headers(body, "issue_comment", "d-9"))
    assert reply.status_code == 202 and reply.json()["status"] == "queued" and reached == []
    assert client.get("/webhooks/github").status_code == 418 and reached == ["/webhooks/github"]  # other methods
    assert "/webhooks/github" in create_app(app.state.mlpipex.settings).openapi()["paths"]  # still documented


def test_an_oversized_chunked_body_is_refused_as_it_streams_in(tmp_path: Path) -> None:
    client = _client(tmp_path, "a.db", hot=True)
    body = b"x" * (LIMIT * 3)
    headers = signed_headers(body, "issue_comment")

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    reply = client.post("/webhooks/github", content=chunks(), headers=headers)
    assert reply.status_code == 413 and reply.json() == {"detail": f"body is over the {LIMIT}-byte limit"}
    declared = client.post("/webhooks/github", content=body, headers=headers)
    assert declared.json() == {"detail": f"body of {len(body)} bytes is over the {LIMIT}-byte limit"}
    assert client.app.state.mlpipex.store.deliveries.count() == 0  # type: ignore[attr-defined]


def test_a_client_that_goes_away_mid_body_records_nothing(tmp_path: Path) -> None:
    client = _client(tmp_path, "a.db", hot=True)
    app = client.app
    body = body_of(COMMENT)
    headers = signed_headers(body, "issue_comment", "d-gone")
    messages = [{"type": "http.request", "body": body[:100], "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/webhooks/github", "root_path": "", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent == [] and app.state.mlpipex.store.deliveries.count() == 0  # type: ignore[attr-defined]


def test_a_payload_with_an_integer_past_64_bits_is_stored_exactly(tmp_path: Path) -> None:
    # orjson reads such an integer as a float; mlpipex.fastjson hands it to json, and the job's
    # payload (stored as the body's own text when orjson read it) keeps it exact.
    client = _client(tmp_path, "a.db", hot=True)
    payload = COMMENT | {"comment": COMMENT["comment"] | {"id": 2**70}}
    body = body_of(payload)
    reply = client.post("/webhooks/github", content=body, headers=signed_headers(body, "issue_comment", "d-big"))
    assert reply.status_code == 202, reply.text
    [job] = client.app.state.mlpipex.store.jobs.list()  # type: ignore[attr-defined]
    assert job.payload == payload and job.payload["comment"]["id"] == 2**70
