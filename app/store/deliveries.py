"""Webhook deliveries: recorded once by ``X-GitHub-Delivery``, queued in the same transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from mlpipex.app.store.engine import insert_ignoring_conflicts
from mlpipex.app.store.jobs import JobQueue
from mlpipex.app.store.schema import actions, deliveries, jobs

__all__ = ["Deliveries", "Delivery", "DeliveryOutcome"]


@dataclass(frozen=True)
class DeliveryOutcome:
    """``outcome`` is ``queued``, ``ignored`` or ``replayed``; ``duplicate`` is True for a redelivery
    or a replay (then nothing new was queued; ``job_id`` is the first delivery's job)."""

    delivery_id: str
    outcome: str
    reason: str | None
    job_id: int | None
    duplicate: bool


class _Duplicate(Exception):
    pass


class _Replayed(Exception):
    pass


@dataclass(frozen=True)
class Delivery:
    """One verified delivery to record: the arguments of ``Deliveries.record``."""

    delivery_id: str
    event: str
    action: str | None
    repository: str | None
    installation_id: int | None
    job_kind: str | None
    payload: dict[str, Any]
    reason: str | None = None
    action_key: str | None = None
    # ``payload`` as JSON text when the caller has it (the verified body, if it is strict UTF-8
    # JSON): stored as the job's payload as it is, instead of serialising ``payload`` again.
    payload_json: str | None = None


class Deliveries:
    def __init__(self, engine: Engine, clock: Callable[[], datetime], queue: JobQueue) -> None:
        self.engine = engine
        self.clock = clock
        self.queue = queue

    def record(self, delivery_id: str, *, event: str, action: str | None, repository: str | None,
               installation_id: int | None, job_kind: str | None, payload: dict[str, Any],
               reason: str | None = None, action_key: str | None = None) -> DeliveryOutcome:  # fmt: skip
        """Record a verified delivery and, when ``job_kind`` is given, queue its job, atomically.

        The delivery row's primary key makes a redelivery a no-op even when two
        replicas receive it at the same moment; the ``actions`` row's primary key does
        the same for ``action_key`` (mlpipex.app.replay), so the same action under a new
        delivery id (a replayed body) is recorded as ``replayed`` and queues nothing.
        """
        return self.record_many([Delivery(delivery_id, event, action, repository, installation_id, job_kind,
                                          payload, reason, action_key)])[0]  # fmt: skip

    def record_many(self, batch: Sequence[Delivery]) -> list[DeliveryOutcome]:
        """``record`` for each delivery, in order, in one transaction: one commit (one fsync) for all.

        Each delivery runs in its own savepoint, so a duplicate or a replay rolls back
        only its own rows; every outcome is as if each had been recorded alone, in turn.
        When this returns, every row is committed (mlpipex.app.store.group_commit)."""
        with self.engine.begin() as conn:
            now = self.clock()  # one time for the batch: its deliveries are committed together
            return [self._record(conn, delivery, now) for delivery in batch]

    def _record(self, conn: Connection, d: Delivery, now: datetime) -> DeliveryOutcome:
        if self.engine.dialect.name == "sqlite":
            return self._record_sqlite(conn, d, now)
        outcome = "queued" if d.job_kind else "ignored"
        job_id: int | None = None
        row: dict[str, Any] = dict(delivery_id=d.delivery_id, event=d.event, action=d.action, repository=d.repository,
                                   installation_id=d.installation_id, outcome=outcome, reason=d.reason, job_id=None,
                                   received_at=now)  # fmt: skip
        try:
            with conn.begin_nested():  # a savepoint: _Duplicate and _Replayed roll back this delivery's rows only
                if d.action_key is not None and d.job_kind:
                    taken = conn.execute(insert_ignoring_conflicts(self.engine, actions),
                                         dict(action_key=d.action_key, delivery_id=d.delivery_id, received_at=now)).first()  # fmt: skip
                    if taken is None:
                        raise _Replayed
                if d.job_kind:
                    job_id, _ = self.queue.enqueue(d.job_kind, d.payload, dedupe_key=f"github-delivery:{d.delivery_id}", conn=conn)
                    row["job_id"] = job_id
                if conn.execute(insert_ignoring_conflicts(self.engine, deliveries), row).first() is None:
                    raise _Duplicate
        except _Duplicate:
            first = conn.execute(select(deliveries).where(deliveries.c.delivery_id == d.delivery_id)).one()
            return DeliveryOutcome(d.delivery_id, first.outcome, first.reason, first.job_id, duplicate=True)
        except _Replayed:
            return self._replayed(conn, row, str(d.action_key))
        return DeliveryOutcome(d.delivery_id, outcome, d.reason, job_id, duplicate=False)

    def _record_sqlite(self, conn: Connection, d: Delivery, now: datetime) -> DeliveryOutcome:
        """``_record``'s statements on the driver's cursor, prepared once (sqlite3 caches them).

        The SQLAlchemy path spends ~150 µs per delivery compiling and wrapping five
        statements (savepoint, three inserts, release); these are the same statements with
        the values SQLAlchemy's column types would bind. Duplicates and replays, which are
        rare, take the SQLAlchemy path after the savepoint is rolled back."""
        sql = _sqlite_statements()
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        stamp = sql.datetime(now)
        job_id: int | None = None
        cursor.execute("SAVEPOINT delivery")
        try:
            taken_action = d.action_key is None or not d.job_kind or cursor.execute(
                sql.action, (d.action_key, d.delivery_id, stamp)).fetchone() is not None  # fmt: skip
            if not taken_action:
                raise _Replayed
            if d.job_kind:
                key = f"github-delivery:{d.delivery_id}"
                payload = d.payload_json if d.payload_json is not None else sql.json(d.payload)
                taken = cursor.execute(sql.job, (d.job_kind, payload, key, "queued", 0, self.queue.max_attempts,
                                                 stamp, stamp, stamp)).fetchone()  # fmt: skip
                job_id = int(taken[0]) if taken is not None else int(cursor.execute(sql.job_by_key, (key,)).fetchone()[0])
            row = (d.delivery_id, d.event, d.action, d.repository, d.installation_id, "queued" if d.job_kind else "ignored",
                   d.reason, job_id, stamp)  # fmt: skip
            if cursor.execute(sql.delivery, row).fetchone() is None:
                raise _Duplicate
        except (_Duplicate, _Replayed) as exc:
            cursor.execute("ROLLBACK TO delivery")
            cursor.execute("RELEASE delivery")
            cursor.close()
            if isinstance(exc, _Duplicate):
                first = conn.execute(select(deliveries).where(deliveries.c.delivery_id == d.delivery_id)).one()
                return DeliveryOutcome(d.delivery_id, first.outcome, first.reason, first.job_id, duplicate=True)
            row_dict = dict(delivery_id=d.delivery_id, event=d.event, action=d.action, repository=d.repository,
                            installation_id=d.installation_id, outcome="queued", reason=d.reason, job_id=None, received_at=now)  # fmt: skip
            return self._replayed(conn, row_dict, str(d.action_key))
        except BaseException:
            cursor.execute("ROLLBACK TO delivery")
            cursor.execute("RELEASE delivery")
            cursor.close()
            raise
        cursor.execute("RELEASE delivery")
        cursor.close()
        return DeliveryOutcome(d.delivery_id, "queued" if d.job_kind else "ignored", d.reason, job_id, duplicate=False)

    def _replayed(self, conn: Connection, row: dict[str, Any], action_key: str) -> DeliveryOutcome:
        """The action was asked for before: by GitHub's redelivery (the same id) or by a replay."""
        first = conn.execute(select(actions.c.delivery_id).where(actions.c.action_key == action_key)).scalar_one()
        if first == row["delivery_id"]:  # GitHub redelivered it: the first delivery's record answers
            original = conn.execute(select(deliveries).where(deliveries.c.delivery_id == first)).first()
            if original is None:  # that record was pruned; the action key outlives it, so it still runs once
                return DeliveryOutcome(first, "replayed", f"the action was already received in delivery {first}",
                                       None, duplicate=True)  # fmt: skip
            return DeliveryOutcome(first, original.outcome, original.reason, original.job_id, duplicate=True)
        job_id = conn.execute(select(deliveries.c.job_id).where(deliveries.c.delivery_id == first)).scalar()
        reason = f"the action was already received in delivery {first}"
        conn.execute(insert_ignoring_conflicts(self.engine, deliveries),
                     {**row, "outcome": "replayed", "reason": reason, "job_id": None})  # fmt: skip
        return DeliveryOutcome(row["delivery_id"], "replayed", reason, job_id, duplicate=True)

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.delivery_id == delivery_id)).first()
        return dict(row._mapping) if row is not None else None

    def count(self) -> int:
        with self.engine.begin() as conn:
            return len(conn.execute(select(deliveries.c.delivery_id)).all())


@dataclass(frozen=True)
class _SqliteStatements:
    action: str
    job: str
    job_by_key: str
    delivery: str
    datetime: Callable[[datetime], str]  # what SQLAlchemy's DateTime binds on SQLite
    json: Callable[[Any], str]  # what its JSON type binds


def _insert_sql(table: Table, columns: Sequence[str]) -> str:
    key = ", ".join(c.name for c in table.primary_key.columns)
    return (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT DO NOTHING RETURNING {key}")  # fmt: skip


@functools.lru_cache(maxsize=1)
def _sqlite_statements() -> _SqliteStatements:
    dialect = sqlite_dialect.dialect()
    return _SqliteStatements(
        action=_insert_sql(actions, ("action_key", "delivery_id", "received_at")),
        job=_insert_sql(jobs, ("kind", "payload", "dedupe_key", "status", "attempts", "max_attempts", "next_run_at",
                               "created_at", "updated_at")),
        job_by_key="SELECT id FROM jobs WHERE dedupe_key = ?",
        delivery=_insert_sql(deliveries, ("delivery_id", "event", "action", "repository", "installation_id", "outcome",
                                          "reason", "job_id", "received_at")),
        datetime=deliveries.c.received_at.type.dialect_impl(dialect).bind_processor(dialect),
        json=jobs.c.payload.type.dialect_impl(dialect).bind_processor(dialect),
    )
