"""The payload logger's hot route (mlpipex.monitor._intake.EventIntake, ahead of FastAPI) answers exactly as
the FastAPI route does: the same statuses, bodies and headers, and the same state taken, for every input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _kserve_events import headers, v1_request, v2_request, v2_response

from mlpipex.monitor import Limits, ModelInfo, MonitorSettings
from mlpipex.monitor._auth import MonitorAuth, Token

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

INGEST = "ingest-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
FRAUD_ONLY = "fraud-only-token-0123456789ab"
AUTH = MonitorAuth((Token.of("kserve", INGEST, frozenset({"ingest"})), Token.of("dashboard", READER, frozenset({"read"})),
                    Token.of("kserve-fraud", FRAUD_ONLY, frozenset({"ingest"}), frozenset({"fraud"}))))  # fmt: skip
WHEN = 1_800_000_000.0
BUDGET = 4096  # in-flight bytes: a bigger body is answered busy


def _client(tmp_path: Path, name: str, *, hot: bool, auth: MonitorAuth = AUTH) -> TestClient:
    from mlpipex.monitor import create_monitor_app

    settings = MonitorSettings(state_dir=tmp_path / name, models={"fraud": ModelInfo("fraud", features=("a", "b"))},
                               schedule_seconds=3600, auth=auth, limits=Limits(inflight_bytes=BUDGET))  # fmt: skip
    app = create_monitor_app(settings)
    if not hot:
        app.hot_routes.clear()  # every request through FastAPI's route, as before the hot route existed
    return TestClient(app)


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    with _client(tmp_path, "hot", hot=True) as hot, _client(tmp_path, "fastapi", hot=False) as plain:
        yield hot, plain


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _cases() -> list[tuple[str, str, bytes, dict[str, str]]]:
    good = v2_request([[1.0, 2.0]])
    answer = v2_response([1], [[0.2, 0.8]])
    return [
        ("request", "/", good, headers("e1", "request", when=WHEN) | bearer(INGEST)),
        ("response", "/events", answer, headers("e1", "response", when=WHEN + 0.01) | bearer(INGEST)),
        ("no token", "/", good, headers("e2", "request", when=WHEN)),
        ("wrong token", "/", good, headers("e2", "request", when=WHEN) | bearer("x" * 29)),
        ("reader token", "/", good, headers("e2", "request", when=WHEN) | bearer(READER)),
        ("another model's token", "/", good, headers("e2", "request", when=WHEN, service="churn") | bearer(FRAUD_ONLY)),
        ("its own model", "/", good, headers("e3", "request", when=WHEN) | bearer(FRAUD_ONLY)),
        ("declared too large", "/", good, headers("e4", "request", when=WHEN) | bearer(INGEST)
         | {"content-length": str(9 << 20)}),
        ("content-length not a number", "/", good, headers("e4", "request", when=WHEN) | bearer(INGEST)
         | {"content-length": "12x"}),
        ("over the in-flight budget", "/", v1_request([[1.0, 2.0]] * 400), headers("e5", "request", when=WHEN) | bearer(INGEST)),
        ("not JSON", "/", b"{", headers("e6", "request", when=WHEN) | bearer(INGEST)),
        ("wrong specversion", "/", good, headers("e7", "request", when=WHEN) | bearer(INGEST) | {"ce-specversion": "0.3"}),
        ("bad time", "/", good, headers("e8", "request", when=WHEN) | bearer(INGEST) | {"ce-time": "yesterday"}),
        ("other features", "/", json.dumps({"instances": [{"c": 1.0}]}).encode(),
         headers("e9", "request", when=WHEN) | bearer(INGEST)),
        ("unknown model", "/", v2_request([[1.0] * 300]), headers("e10", "request", when=WHEN, service="wide") | bearer(INGEST)),
        ("v1 request", "/events", v1_request([[3.0, 4.0]]), headers("e11", "request", when=WHEN) | bearer(INGEST)),
    ]  # fmt: skip


def _answer(reply: Any) -> tuple[Any, ...]:
    kept = ("content-type", "www-authenticate", "connection", "retry-after")
    return reply.status_code, reply.content, {k: reply.headers.get(k) for k in kept}


def test_the_hot_route_answers_every_event_as_the_fastapi_route_does(clients: Any) -> None:
    hot, plain = clients
    statuses = set()
    for why, path, body, sent in _cases():
        a, b = (c.post(path, content=body, headers=sent) for c in (hot, plain))
        assert _answer(a) == _answer(b), why
        statuses.add(a.status_code)
    assert statuses == {200, 400, 401, 403, 413, 503}
    ingestors = [c.app.state.monitor.ingestor for c in clients]  # type: ignore[attr-defined]
    for name in ("events", "malformed", "refused", "joined"):
        assert getattr(ingestors[0], name) == getattr(ingestors[1], name), name
    assert ingestors[0].events["request"] == 3 and ingestors[0].joined == 1
    windows = [{k.label(): (w.requests, w.responses, w.rows.values().tolist()) for k, w in i.windows.items()}
               for i in ingestors]  # fmt: skip
    assert windows[0] == windows[1]
    assert [c.app.state.monitor.inflight.used for c in clients] == [0, 0]  # type: ignore[attr-defined]


def test_events_are_answered_ahead_of_fastapi_routing(tmp_path: Path) -> None:
    with _client(tmp_path, "hot", hot=True, auth=MonitorAuth(())) as client:
        app: Any = client.app
        reached: list[str] = []

        async def fastapi_side(scope: Any, receive: Any, send: Any) -> None:  # stands in for all of FastAPI
            reached.append(scope["path"])
            await send({"type": "http.response.start", "status": 418, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app.middleware_stack = fastapi_side
        for path in ("/", "/events"):
            reply = client.post(path, content=v2_request([[1.0, 2.0]]), headers=headers(path, "request", when=WHEN))
            assert (reply.status_code, reply.content) == (200, b"") and reached == []
        assert client.get("/healthz").status_code == 418 and reached == ["/healthz"]
        assert app.state.monitor.ingestor.events["request"] == 2


def test_a_logger_that_goes_away_mid_body_leaves_nothing_behind(tmp_path: Path) -> None:
    with _client(tmp_path, "hot", hot=True, auth=MonitorAuth(())) as client:
        app: Any = client.app
        body = v2_request([[1.0, 2.0]])
        messages = [{"type": "http.request", "body": body[:10], "more_body": True}, {"type": "http.disconnect"}]
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "root_path": "", "query_string": b"",
                 "headers": [(k.encode(), v.encode()) for k, v in headers("gone", "request", when=WHEN).items()]}  # fmt: skip
        asyncio.run(app(scope, receive, send))
        monitor = app.state.monitor
        assert sent == [] and monitor.inflight.used == 0 and not monitor.ingestor.events
