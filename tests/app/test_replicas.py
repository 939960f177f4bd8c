"""Two App replicas on one database (two engines, two workers): each delivery, job and lock once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from providers.github_webhooks import webhook

from mlpipex.app import create_app
from mlpipex.app.registry import HandlerRegistry, JobContext
from mlpipex.app.settings import Settings
from mlpipex.app.store import Store
from mlpipex.app.worker import Worker

from .conftest import SECRET, body_of, signed_headers

pytestmark = pytest.mark.timeout(120)


def replicas(url: str, n: int = 2) -> list[Store]:
    stores = [Store.from_url(url) for _ in range(n)]
    for s in stores:
        s.create_schema()  # every replica creates the schema on start, concurrently safe
    return stores


def test_the_same_delivery_to_two_replicas_queues_once(database_url: str) -> None:
    registry = HandlerRegistry()
    registry.register("issue_comment.created")(lambda payload, ctx: None)
    apps = [create_app(Settings(webhook_secret=SECRET, worker_threads=0, database_url=database_url), registry=registry)
            for _ in range(2)]  # fmt: skip
    clients = [TestClient(app) for app in apps]
    payload = webhook("issue_comment", {"action": "created", "repository": {"full_name": "o/r"}, "comment": {"body": "/promote"}})
    body = body_of(payload)
    statuses: list[str] = []
    barrier = threading.Barrier(8)

    def deliver(i: int) -> None:
        barrier.wait()
        reply = clients[i % 2].post("/webhooks/github", content=body, headers=signed_headers(body, "issue_comment", "same-delivery"))
        statuses.append(reply.json()["status"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, range(8)))
    assert Counter(statuses) == {"queued": 1, "duplicate": 7}
    assert len(apps[0].state.mlpipex.store.jobs.list()) == 1
    for app in apps:
        app.state.mlpipex.store.close()


def test_two_workers_on_two_engines_run_each_job_once(database_url: str) -> None:
    a, b = replicas(database_url)
    for i in range(60):
        a.jobs.enqueue("promote", {"i": i})
    ran: list[tuple[str, int]] = []
    lock = threading.Lock()

    def handler_for(name: str) -> Any:
        def handler(payload: dict[str, Any], ctx: JobContext) -> None:
            with lock:
                ran.append((name, payload["i"]))

        return handler

    workers = []
    for name, store in (("a", a), ("b", b)):
        registry = HandlerRegistry()
        registry.register("promote")(handler_for(name))
        workers.append(Worker(store, registry, threads=3, poll_interval=0.02, name=name))
    for w in workers:
        w.start()
    try:
        deadline = threading.Event()
        for _ in range(500):
            if a.jobs.counts()["done"] == 60:
                break
            deadline.wait(0.02)
    finally:
        for w in workers:
            w.stop()
    assert sorted(i for _, i in ran) == list(range(60)), "every job exactly once"
    assert a.jobs.counts()["done"] == 60
    a.close(), b.close()


def test_concurrent_promote_and_rollback_take_the_model_lock_one_at_a_time(database_url: str) -> None:
    stores = replicas(database_url, 4)
    barrier = threading.Barrier(8)
    results: list[tuple[str, bool, str]] = []

    def contend(i: int) -> None:
        store = stores[i % 4]
        holder = f"{'promote' if i % 2 else 'rollback'} by user{i}"
        barrier.wait()
        got = store.locks.acquire("octo-org/models/churn", holder, reason=holder, ttl_seconds=300)
        results.append((holder, got.acquired, got.holder))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(contend, range(8)))
    winners = [r for r in results if r[1]]
    assert len(winners) == 1
    assert all(holder == winners[0][0] for _, acquired, holder in results if not acquired), "refusals name the winner"
    for s in stores:
        s.close()


def test_a_sqlite_file_shared_by_two_processes_is_safe(tmp_path: Path) -> None:
    """The same race on a SQLite file through separate engines (BEGIN IMMEDIATE + busy timeout)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = replicas(url)
    ids = [a.jobs.enqueue("k", {"i": i})[0] for i in range(40)]
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(store: Store, name: str) -> None:
        while (job := store.jobs.claim(name, lease_seconds=30)) is not None:
            with lock:
                claimed.append(job.id)
            store.jobs.complete(job.id, name)

    threads = [threading.Thread(target=drain, args=(s, f"w{i}")) for i, s in enumerate([a, b, a, b])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids
