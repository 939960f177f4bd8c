"""Every relevant payload from npm @octokit/webhooks-examples through the signed endpoint."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.app import create_app
from mlpipex.app.events import job_kind
from mlpipex.app.registry import HandlerRegistry, load_handler_modules
from mlpipex.app.replay import action_key
from mlpipex.app.settings import Settings
from mlpipex.app.worker import Worker

from .conftest import SECRET, body_of, signed_headers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / ".tools" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
EVENTS = ("installation", "installation_repositories", "issue_comment", "pull_request", "check_run", "ping", "push")
# The kinds this test's registry handles (the lead's handlers add more in production).
HANDLED = {"issue_comment.created", "pull_request.closed", "check_run.requested_action"}
SEEN_ACTIONS: set[str | None] = set()  # the actions (mlpipex.app.replay) the module's App has received


@functools.lru_cache(maxsize=1)
def examples() -> list[tuple[str, int, dict[str, Any]]]:
    if not EXAMPLES.exists():
        return []
    found = []
    for entry in json.loads(EXAMPLES.read_text()):
        if entry["name"] in EVENTS:
            found += [(entry["name"], i, payload) for i, payload in enumerate(entry["examples"])]
    return found


pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="npm @octokit/webhooks-examples is missing (scripts/test.sh installs it)")


def test_every_relevant_event_has_examples() -> None:
    counts = {event: sum(1 for e, _, _ in examples() if e == event) for event in EVENTS}
    assert all(counts.values()), counts
    assert sum(counts.values()) >= 60


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    registry = HandlerRegistry()
    for kind in sorted(HANDLED):
        registry.register(kind)(lambda payload, ctx: None)
    # The built-in installation handlers, exactly as the App registers them.
    builtin = load_handler_modules()
    for kind in ("installation", "installation_repositories"):
        registry.add(kind, builtin.get(kind))  # type: ignore[arg-type]
    db = tmp_path_factory.mktemp("examples") / "app.db"
    settings = Settings(webhook_secret=SECRET, worker_threads=0, database_url=f"sqlite:///{db}")
    return TestClient(create_app(settings, registry=registry))


@pytest.mark.parametrize(("event", "index", "payload"), examples(), ids=[f"{e}-{i}" for e, i, _ in examples()])
def test_example_goes_through_the_signed_endpoint(client: TestClient, event: str, index: int, payload: dict[str, Any]) -> None:
    store = client.app.state.mlpipex.store  # type: ignore[attr-defined]
    before = len(store.jobs.list(limit=10_000))
    body = body_of(payload)
    delivery = f"example-{event}-{index}"
    reply = client.post("/webhooks/github", content=body, headers=signed_headers(body, event, delivery))
    after = store.jobs.list(limit=10_000)
    if event == "ping":
        assert (reply.status_code, reply.json()["status"]) == (200, "pong") and len(after) == before
        return
    kind = job_kind(event, payload)
    expected = "queued" if kind in HANDLED or event.startswith("installation") else "ignored"
    key = action_key(event, payload)
    if expected == "queued" and key is not None and key in SEEN_ACTIONS:
        # Several examples show the same comment (or merge): to the App, the same action again.
        assert (reply.status_code, reply.json()["status"]) == (200, "replayed") and len(after) == before
        return
    SEEN_ACTIONS.add(key)
    assert reply.status_code == 202 and reply.json()["status"] == expected and reply.json()["kind"] == kind
    if expected == "queued":
        assert len(after) == before + 1 and after[-1].kind == kind and after[-1].payload == payload
    else:
        assert len(after) == before
    # The same delivery again changes nothing.
    again = client.post("/webhooks/github", content=body, headers=signed_headers(body, event, delivery))
    assert again.json()["status"] == "duplicate" and len(store.jobs.list(limit=10_000)) == len(after)


def test_installation_examples_update_the_repository_map(tmp_path: Path) -> None:
    from mlpipex.app.store import Store

    store = Store.from_url(f"sqlite:///{tmp_path / 'i.db'}")
    store.create_schema()
    registry = load_handler_modules()
    wanted = {"installation": ("created", "deleted"), "installation_repositories": ("added", "removed")}
    for event, _, payload in examples():
        if payload.get("action") in wanted.get(event, ()):
            store.jobs.enqueue(job_kind(event, payload), payload)
    worker = Worker(store, registry)
    while worker.run_once():
        pass
    assert store.jobs.counts()["done"] == len(store.jobs.list()) > 0, [j.last_error for j in store.jobs.list()]
    created = next(p for e, _, p in examples() if e == "installation" and p["action"] == "created")
    actions = {e.action for e in store.audit.query(limit=500)}
    assert {"installation.created", "installation.deleted", "installation_repositories.added",
            "installation_repositories.removed"} <= actions  # fmt: skip
    assert any(e.actor == created["sender"]["login"] for e in store.audit.query(limit=500))
