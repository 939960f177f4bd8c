"""The store on SQLite and PostgreSQL: queue, leases, retries, dead letters, locks, audit, deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mlpipex.app.store import LockHeld, backoff_seconds


def test_enqueue_with_a_dedupe_key_creates_one_job(store: Any) -> None:
    first = store.jobs.enqueue("alert.drift", {"n": 1}, dedupe_key="alert:a1")
    second = store.jobs.enqueue("alert.drift", {"n": 2}, dedupe_key="alert:a1")
    assert first[1] is True and second == (first[0], False)
    assert [j.payload for j in store.jobs.list()] == [{"n": 1}]


def test_claim_takes_the_oldest_due_job_once(store: Any, clock: Any) -> None:
    a, _ = store.jobs.enqueue("k", {"i": "a"})
    clock.advance(1)
    b, _ = store.jobs.enqueue("k", {"i": "b"})
    job = store.jobs.claim("w1", lease_seconds=30)
    assert job.id == a and job.status == "running" and job.attempts == 1 and job.lease_owner == "w1"
    assert store.jobs.claim("w2", lease_seconds=30).id == b
    assert store.jobs.claim("w3", lease_seconds=30) is None


def test_complete_needs_the_lease(store: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})
    store.jobs.claim("w1", lease_seconds=30)
    assert store.jobs.complete(job_id, "someone-else") is False
    assert store.jobs.complete(job_id, "w1") is True
    assert store.jobs.get(job_id).status == "done"
    assert store.jobs.claim("w1", lease_seconds=30) is None


def test_failure_retries_with_exponential_backoff_then_dead(store: Any, clock: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})  # max_attempts=3 in the fixture
    delays = []
    for attempt in (1, 2):
        job = store.jobs.claim("w", lease_seconds=30)
        assert job.attempts == attempt
        assert store.jobs.fail(job, "w", f"boom {attempt}") == "failed"
        queued = store.jobs.get(job_id)
        delays.append((queued.next_run_at - clock.now).total_seconds())
        assert store.jobs.claim("w", lease_seconds=30) is None, "not due before its backoff"
        clock.advance(delays[-1])
    assert delays == [backoff_seconds(1), backoff_seconds(2)] and delays[1] == 2 * delays[0]
    job = store.jobs.claim("w", lease_seconds=30)
    assert store.jobs.fail(job, "w", "boom 3") == "dead"
    dead = store.jobs.get(job_id)
    assert dead.status == "dead" and dead.last_error == "boom 3" and dead.attempts == 3
    clock.advance(3600)
    assert store.jobs.claim("w", lease_seconds=30) is None


def test_permanent_failure_is_dead_at_once(store: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})
    job = store.jobs.claim("w", lease_seconds=30)
    assert store.jobs.fail(job, "w", "bad payload", retry=False) == "dead"
    assert store.jobs.get(job_id).attempts == 1


def test_an_expired_lease_is_claimed_again_and_the_old_owner_is_fenced(store: Any, clock: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})
    store.jobs.claim("dead-worker", lease_seconds=10)
    clock.advance(5)
    assert store.jobs.claim("w2", lease_seconds=10) is None, "lease still valid"
    clock.advance(6)
    again = store.jobs.claim("w2", lease_seconds=10)
    assert again.id == job_id and again.attempts == 2 and again.lease_owner == "w2"
    assert store.jobs.complete(job_id, "dead-worker") is False
    assert store.jobs.save_progress(job_id, "dead-worker", {"step": 9}) is False
    assert store.jobs.complete(job_id, "w2") is True


def test_heartbeat_keeps_the_lease(store: Any, clock: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})
    store.jobs.claim("w1", lease_seconds=10)
    for _ in range(5):
        clock.advance(8)
        assert store.jobs.heartbeat(job_id, "w1", lease_seconds=10)
    assert store.jobs.claim("w2", lease_seconds=10) is None


def test_a_job_whose_last_attempt_died_is_dead(store: Any, clock: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {}, max_attempts=2)
    for _ in range(2):
        assert store.jobs.claim("crashing", lease_seconds=10).id == job_id
        clock.advance(11)
    assert store.jobs.claim("w", lease_seconds=10) is None
    dead = store.jobs.get(job_id)
    assert dead.status == "dead" and "lease expired" in dead.last_error


def test_progress_survives_a_new_attempt(store: Any, clock: Any) -> None:
    job_id, _ = store.jobs.enqueue("k", {})
    store.jobs.claim("w1", lease_seconds=10)
    assert store.jobs.save_progress(job_id, "w1", {"traffic": 25})
    clock.advance(11)
    assert store.jobs.claim("w2", lease_seconds=10).progress == {"traffic": 25}


def test_a_delayed_job_waits(store: Any, clock: Any) -> None:
    store.jobs.enqueue("canary.step", {}, delay_seconds=300)
    assert store.jobs.claim("w", lease_seconds=10) is None
    clock.advance(300)
    assert store.jobs.claim("w", lease_seconds=10).kind == "canary.step"


def test_counts(store: Any) -> None:
    store.jobs.enqueue("k", {})
    store.jobs.enqueue("k", {})
    store.jobs.claim("w", lease_seconds=10)
    assert store.jobs.counts() == {"queued": 1, "running": 1, "done": 0, "failed": 0, "dead": 0}


def test_lock_refusal_names_the_holder(store: Any, clock: Any) -> None:
    got = store.locks.acquire("org/repo/churn", "alice /promote #12", reason="promote to production")
    assert got.acquired and got.holder == "alice /promote #12"
    refused = store.locks.acquire("org/repo/churn", "bob /rollback #12", reason="rollback")
    assert not refused.acquired
    assert (refused.holder, refused.reason, refused.acquired_at) == ("alice /promote #12", "promote to production", clock.now)
    assert store.locks.holder("org/repo/churn").holder == "alice /promote #12"
    assert store.locks.release("org/repo/churn", "bob /rollback #12") is False
    assert store.locks.release("org/repo/churn", "alice /promote #12") is True
    assert store.locks.acquire("org/repo/churn", "bob /rollback #12").acquired
    assert store.locks.acquire("org/repo/other", "carol").acquired, "locks are per key"


def test_an_expired_lock_is_taken_over_and_a_manual_lock_never_expires(store: Any, clock: Any) -> None:
    assert store.locks.acquire("m1", "crashed", ttl_seconds=60).acquired
    assert store.locks.acquire("m2", "ops /lock", ttl_seconds=None).acquired
    clock.advance(61)
    assert store.locks.holder("m1") is None
    assert store.locks.acquire("m1", "next", ttl_seconds=60).acquired
    assert not store.locks.acquire("m2", "next").acquired
    assert store.locks.release("m2", None) is True  # /unlock by an admin


def test_same_holder_refreshes(store: Any, clock: Any) -> None:
    assert store.locks.acquire("m", "w", ttl_seconds=10).acquired
    clock.advance(5)
    again = store.locks.acquire("m", "w", ttl_seconds=10)
    assert again.acquired and again.expires_at == clock.now + timedelta(seconds=10)


def test_held_context_manager(store: Any) -> None:
    with store.locks.held("m", "alice", reason="promote"), pytest.raises(LockHeld, match="locked by alice") as caught, \
            store.locks.held("m", "bob"):
        pass
    assert caught.value.result.reason == "promote"
    assert store.locks.holder("m") is None


def test_audit_filters_and_pages(store: Any) -> None:
    for i in range(5):
        store.audit.record(actor="alice", action="promote", outcome="succeeded", repository="org/a", model="churn",
                           environment="production", from_digest=f"sha256:{i}", to_digest=f"sha256:{i + 1}")  # fmt: skip
    store.audit.record(actor="bob", action="rollback", outcome="refused", repository="org/b", model="fraud")
    page = store.audit.query(repository="org/a", limit=3)
    assert [e.to_digest for e in page] == ["sha256:5", "sha256:4", "sha256:3"]
    rest = store.audit.query(repository="org/a", limit=3, before_id=page[-1].id)
    assert [e.to_digest for e in rest] == ["sha256:2", "sha256:1"]
    assert [e.actor for e in store.audit.query(model="fraud")] == ["bob"]
    assert page[0].to_json()["at"].endswith("Z")


def test_a_delivery_queues_once(store: Any) -> None:
    args = dict(event="issue_comment", action="created", repository="org/a", installation_id=7,
                job_kind="issue_comment.created", payload={"x": 1})  # fmt: skip
    first = store.deliveries.record("d-1", **args)
    again = store.deliveries.record("d-1", **args)
    assert not first.duplicate and first.outcome == "queued" and first.job_id is not None
    assert again.duplicate and again.job_id == first.job_id
    assert len(store.jobs.list()) == 1
    ignored = store.deliveries.record("d-2", **(args | {"job_kind": None}), reason="no handler")
    assert ignored.outcome == "ignored" and ignored.job_id is None and len(store.jobs.list()) == 1
    assert store.deliveries.get("d-2")["reason"] == "no handler"


def test_installations_map_repositories(store: Any) -> None:
    store.installations.add(1, ["Org/A", "org/b"], account="org")
    assert store.installations.installation_for("org/a") == 1
    store.installations.remove(1, ["org/b"])
    assert store.installations.repositories(1) == ["org/a"]
    store.installations.forget(1)
    assert store.installations.installation_for("org/a") is None


def test_backoff_is_capped() -> None:
    assert [backoff_seconds(n, base=1, cap=10) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
