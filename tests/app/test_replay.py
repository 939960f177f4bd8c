"""Issue 12, item 3: a captured signed body posted again under a new X-GitHub-Delivery runs once.

The HMAC covers the body only, so the delivery id is the attacker's to choose. The
action itself (comment id + command, check run + button + payload, merge) is
recorded with the job, in one transaction, on SQLite and on one PostgreSQL shared by
two replicas.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from providers.github_webhooks import webhook

from mlpipex.app import create_app
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.replay import action_key
from mlpipex.app.settings import Settings

from .conftest import SECRET, body_of, signed_headers

pytestmark = pytest.mark.timeout(120)

COMMENT = webhook("issue_comment", {"action": "created", "repository": {"full_name": "o/r"}, "issue": {"number": 5},
                                    "comment": {"id": 77, "body": "/promote --env production", "user": {"login": "lead"}}})  # fmt: skip
BUTTON = webhook("check_run", {"action": "requested_action", "repository": {"full_name": "o/r"}, "sender": {"login": "lead"},
                               "check_run": {"id": 9, "name": "mlpipex / m", "pull_requests": []},
                               "requested_action": {"identifier": "mlpipex-promote"}})  # fmt: skip
MERGE = webhook("pull_request", {"action": "closed", "repository": {"full_name": "o/r"},
                                 "pull_request": {"number": 5, "merged": True, "merge_commit_sha": "c" * 40, "head": {"sha": "h" * 40}}})  # fmt: skip


def apps(database_url: str, n: int = 2) -> list[TestClient]:
    registry = HandlerRegistry()
    for kind in ("issue_comment.created", "check_run.requested_action", "pull_request.closed"):
        registry.register(kind)(lambda payload, ctx: None)
    return [TestClient(create_app(Settings(webhook_secret=SECRET, worker_threads=0, database_url=database_url), registry=registry))
            for _ in range(n)]  # fmt: skip


@pytest.mark.parametrize(("event", "payload"), [("issue_comment", COMMENT), ("check_run", BUTTON), ("pull_request", MERGE)])
def test_a_signed_body_replayed_with_new_delivery_ids_on_two_replicas_queues_once(database_url, event, payload):
    clients = apps(database_url)
    body = body_of(payload)
    statuses: list[str] = []
    barrier = threading.Barrier(8)

    def deliver(i: int) -> None:
        barrier.wait()
        reply = clients[i % 2].post("/webhooks/github", content=body, headers=signed_headers(body, event, f"replay-{i}"))
        statuses.append(reply.json()["status"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, range(8)))
    assert Counter(statuses) == {"queued": 1, "replayed": 7}
    store = clients[0].app.state.mlpipex.store  # type: ignore[attr-defined]
    [job] = store.jobs.list()
    # Every attempt is on record, and says which delivery had asked first.
    replayed = [store.deliveries.get(f"replay-{i}") for i in range(8)]
    assert sorted(r["outcome"] for r in replayed) == ["queued"] + ["replayed"] * 7
    first = next(r["delivery_id"] for r in replayed if r["outcome"] == "queued")
    assert all(first in r["reason"] for r in replayed if r["outcome"] == "replayed")
    # GitHub's own redelivery (the same id) is still a plain duplicate.
    again = clients[1].post("/webhooks/github", content=body, headers=signed_headers(body, event, first))
    assert again.json() == {"status": "duplicate", "kind": job.kind, "job_id": job.id, "reason": "this delivery was already received"}
    for client in clients:
        client.app.state.mlpipex.store.close()  # type: ignore[attr-defined]


def test_different_actions_are_different_keys():
    assert action_key("issue_comment", COMMENT) != action_key("issue_comment", {**COMMENT, "comment": {**COMMENT["comment"], "id": 78}})
    assert action_key("issue_comment", COMMENT) != action_key(
        "issue_comment", {**COMMENT, "comment": {**COMMENT["comment"], "body": "/rollback"}})
    other_button = {**BUTTON, "requested_action": {"identifier": "mlpipex-rollback"}}
    assert action_key("check_run", BUTTON) != action_key("check_run", other_button)
    assert action_key("pull_request", MERGE) != action_key("pull_request", {**MERGE, "pull_request": {**MERGE["pull_request"], "number": 6}})
    assert action_key("push", {"ref": "refs/heads/main"}) is None  # handlers of such events are idempotent by themselves
    assert action_key("issue_comment", {"action": "created", "comment": {"id": True}}) is None


def test_a_redelivery_after_its_record_was_pruned_still_runs_nothing(store, clock):
    """The action key outlives the pruned delivery row: GitHub's redelivery of that id is a replay, not a crash."""
    from datetime import timedelta

    key = "comment:77:/promote"
    first = store.deliveries.record("d-1", event="issue_comment", action="created", repository="o/r", installation_id=1,
                                    job_kind="issue_comment.created", payload={}, action_key=key)  # fmt: skip
    assert first.outcome == "queued"
    store.jobs.complete(store.jobs.claim("w", lease_seconds=30).id, "w")
    clock.now += timedelta(days=31)
    assert store.prune(30)["deliveries"] == 1
    again = store.deliveries.record("d-1", event="issue_comment", action="created", repository="o/r", installation_id=1,
                                    job_kind="issue_comment.created", payload={}, action_key=key)  # fmt: skip
    assert again.outcome == "replayed" and again.duplicate
    assert store.jobs.claim("w", lease_seconds=30) is None  # nothing new to run
