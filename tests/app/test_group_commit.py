"""Issue 19 item 2: deliveries arriving together share one durable commit, with every dedupe and replay outcome kept."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sqlalchemy import event, text

from mlpipex.app.store import Delivery, GroupCommit, Store

from .conftest import Clock


def comment(delivery_id: str, comment_id: int | None = 1, job_kind: str | None = "issue_comment.created") -> Delivery:
    return Delivery(delivery_id, event="issue_comment", action="created", repository="o/r", installation_id=7,
                    job_kind=job_kind, payload={"comment": comment_id},
                    action_key=None if comment_id is None else f"comment:{comment_id}")  # fmt: skip


def commits(store: Store) -> list[int]:
    counted = [0]
    event.listen(store.engine, "commit", lambda conn: counted.__setitem__(0, counted[0] + 1))
    return counted


def test_one_batch_gives_each_delivery_the_outcome_it_gets_alone(database_url: str, clock: Clock) -> None:
    batch = [comment("a", 1), comment("a", 1), comment("b", 1), comment("c", 2), comment("d", None, None),
             comment("d", None, None), comment("e", 3)]  # fmt: skip
    alone = Store.from_url(database_url, clock=clock)
    alone.create_schema()
    expected = [alone.deliveries.record(d.delivery_id, event=d.event, action=d.action, repository=d.repository,
                                        installation_id=d.installation_id, job_kind=d.job_kind, payload=d.payload,
                                        action_key=d.action_key) for d in batch]  # fmt: skip
    jobs_alone = [(j.id, j.payload) for j in alone.jobs.list()]
    with alone.engine.begin() as conn:
        for table in ("deliveries", "actions", "jobs"):
            conn.execute(text(f"DELETE FROM {table}"))
    counted = commits(alone)
    got = alone.deliveries.record_many(batch)
    assert counted[0] == 1
    outcomes = [(o.delivery_id, o.outcome, o.duplicate, o.reason) for o in got]
    assert outcomes == [(o.delivery_id, o.outcome, o.duplicate, o.reason) for o in expected]
    assert [o.outcome for o in got] == ["queued", "queued", "replayed", "queued", "ignored", "ignored", "queued"]
    assert got[1].job_id == got[0].job_id and got[2].job_id == got[0].job_id
    assert [j.payload for j in alone.jobs.list()] == [p for _, p in jobs_alone]  # a, c, e: one job each
    assert alone.deliveries.get("b")["outcome"] == "replayed" and alone.deliveries.count() == 5
    alone.close()


def test_deliveries_waiting_for_a_commit_share_the_next_one() -> None:
    """While one batch commits, the next deliveries queue up and go in one batch, not one transaction each."""
    release, started = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def commit(items: Any) -> list[int]:
        batches.append(list(items))
        started.set()
        release.wait(10)
        return [i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
    first = group.submit_nowait(0)
    assert started.wait(10)
    waiting = [group.submit_nowait(i) for i in range(1, 6)]
    release.set()
    assert first.result(10) == 0 and [f.result(10) for f in waiting] == [10, 20, 30, 40, 50]
    assert batches == [[0], [1, 2, 3, 4, 5]]
    group.close()


def test_a_failing_batch_fails_only_the_bad_delivery(tmp_path: Any, clock: Clock) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'app.db'}", clock=clock)
    store.create_schema()
    bad = Delivery("bad", event="issue_comment", action="created", repository="o/r", installation_id=7,
                   job_kind="issue_comment.created", payload={"not json": {1, 2}})  # fmt: skip
    release = threading.Event()
    original = store.deliveries.record_many
    store.intake._commit = lambda items: (release.wait(10), original(items))[1]  # hold the first batch

    async def deliver() -> list[Any]:
        first = asyncio.ensure_future(store.intake.submit(comment("first", 1)))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(store.intake.submit(d)) for d in (comment("x", 2), bad, comment("y", 3))]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, x, failed, y = asyncio.run(deliver())
    assert isinstance(failed, Exception)
    assert (first.outcome, x.outcome, y.outcome) == ("queued", "queued", "queued")
    assert store.deliveries.get("bad") is None and store.deliveries.count() == 3
    store.close()


def test_sqlite_commits_are_synced_before_a_delivery_is_acknowledged(tmp_path: Any) -> None:
    """synchronous=FULL in WAL mode: NORMAL (before) could lose acknowledged deliveries to a power cut."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'app.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_rows_written_on_the_driver_cursor_read_back_as_sqlalchemy_wrote_them(store: Any, clock: Clock) -> None:
    """The SQLite fast path binds what SQLAlchemy's column types bind: dates, JSON, and a claimable job."""
    [queued] = store.deliveries.record_many([comment("fast", 41)])
    row = store.deliveries.get("fast")
    assert row["received_at"] == clock() and row["outcome"] == "queued" and row["job_id"] == queued.job_id
    job = store.jobs.get(queued.job_id)
    assert job.payload == {"comment": 41} and job.next_run_at == clock() and job.dedupe_key == "github-delivery:fast"
    assert store.jobs.claim("w", lease_seconds=30).id == queued.job_id


def test_requests_reaching_their_write_in_one_turn_of_the_loop_share_one_commit() -> None:
    batches: list[list[int]] = []

    def commit(items: Any) -> list[int]:
        batches.append(list(items))
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(commit)

    async def request(i: int) -> int:
        time.sleep(0.002)  # work before the write that lets other threads run (parsing, the schema check)
        return await group.submit(i)

    async def requests() -> list[int]:
        return await asyncio.gather(*(request(i) for i in range(10)))

    assert asyncio.run(requests()) == list(range(10))
    assert batches == [list(range(10))]
    group.close()
