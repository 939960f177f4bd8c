"""The durable job queue: enqueue once, claim safely across replicas, retry, dead-letter.

Claiming is one short transaction: pick the oldest due job (PostgreSQL skips rows
another replica has locked, ``FOR UPDATE SKIP LOCKED``), then take it with an UPDATE
whose WHERE repeats the "still claimable" condition, so exactly one claimer sees
``rowcount == 1`` even without row locks (SQLite). Statuses: ``queued`` (new, or
delayed), ``running`` (leased), ``failed`` (an attempt failed; due again after its
backoff), ``done``, ``dead`` (out of attempts, or failed permanently). A claim is a lease: the worker
renews it while the handler runs; a worker that dies stops renewing, the lease
expires and the job is claimed again. Every claim counts an attempt; after
``max_attempts`` the job is ``dead`` with its last error. Leases compare each
replica's own clock: keep replicas NTP-synchronised, with skew well under a lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from mlpipex.app.store.engine import insert_ignoring_conflicts
from mlpipex.app.store.schema import jobs

__all__ = ["STATUSES", "Job", "JobQueue", "backoff_seconds"]

STATUSES = ("queued", "running", "done", "failed", "dead")
_INSERT = jobs.insert().returning(jobs.c.id)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Delay before retry number ``attempt`` (1-based): base·2^(attempt-1), at most ``cap``."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Job:
    """A claimed (or inspected) job. ``attempts`` includes the current one."""

    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    next_run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    progress: dict[str, Any] | None
    dedupe_key: str | None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = row._mapping
        return cls(id=m["id"], kind=m["kind"], payload=m["payload"], status=m["status"], attempts=m["attempts"],
                   max_attempts=m["max_attempts"], next_run_at=m["next_run_at"], lease_owner=m["lease_owner"],
                   lease_expires_at=m["lease_expires_at"], last_error=m["last_error"], progress=m["progress"],
                   dedupe_key=m["dedupe_key"])  # fmt: skip


class JobQueue:
    def __init__(self, engine: Engine, clock: Callable[[], datetime], *, max_attempts: int = 5,
                 backoff_base: float = 2.0, backoff_cap: float = 600.0) -> None:  # fmt: skip
        self.engine = engine
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._buried_at: datetime | None = None

    def enqueue(self, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None,
                max_attempts: int | None = None, delay_seconds: float = 0.0,
                conn: Any = None) -> tuple[int, bool]:  # fmt: skip
        """Queue a job; returns ``(job id, created)``. A second enqueue with the same
        ``dedupe_key`` creates nothing and returns the first job's id (the unique
        constraint decides, so concurrent replicas cannot both create it).
        ``delay_seconds`` schedules it later (e.g. the next canary step)."""
        if conn is None:
            with self.engine.begin() as own:
                return self.enqueue(kind, payload, dedupe_key=dedupe_key, max_attempts=max_attempts,
                                    delay_seconds=delay_seconds, conn=own)  # fmt: skip
        now = self.clock()
        values = dict(kind=kind, payload=payload, dedupe_key=dedupe_key, status="queued", attempts=0,
                      max_attempts=max_attempts or self.max_attempts, next_run_at=now + timedelta(seconds=delay_seconds),
                      created_at=now, updated_at=now)  # fmt: skip
        if dedupe_key is None:
            return int(conn.execute(_INSERT, values).scalar_one()), True
        row = conn.execute(insert_ignoring_conflicts(self.engine, jobs), values).first()
        if row is not None:
            return int(row[0]), True
        return int(conn.execute(select(jobs.c.id).where(jobs.c.dedupe_key == dedupe_key)).scalar_one()), False

    def _claimable(self, now: datetime) -> Any:
        return or_(
            and_(jobs.c.status.in_(("queued", "failed")), jobs.c.next_run_at <= now),
            and_(jobs.c.status == "running", jobs.c.lease_expires_at < now, jobs.c.attempts < jobs.c.max_attempts),
        )

    def claim(self, owner: str, *, lease_seconds: float, kinds: list[str] | None = None) -> Job | None:
        """Take the oldest due job for ``owner`` (a worker id unique across replicas), or None."""
        now = self.clock()
        if self._buried_at is None or now - self._buried_at >= timedelta(seconds=min(5.0, lease_seconds)):
            self._bury_abandoned(now)  # a write: not on every idle poll
            self._buried_at = now
        condition = self._claimable(now)
        if kinds is not None:
            condition = and_(condition, jobs.c.kind.in_(kinds))
        for _ in range(10):  # another claimer can win the row between SELECT and UPDATE
            with self.engine.begin() as conn:
                query = select(jobs.c.id).where(condition).order_by(jobs.c.next_run_at, jobs.c.id).limit(1)
                if self.engine.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                job_id = conn.execute(query).scalar()
                if job_id is None:
                    return None
                taken = conn.execute(
                    update(jobs).where(jobs.c.id == job_id, condition)
                    .values(status="running", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                            attempts=jobs.c.attempts + 1, updated_at=now)
                )  # fmt: skip
                if taken.rowcount == 1:
                    return Job.from_row(conn.execute(select(jobs).where(jobs.c.id == job_id)).one())
        return None

    def _bury_abandoned(self, now: datetime) -> None:
        """A job whose last allowed attempt's worker died goes to ``dead``, not round again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.status == "running", jobs.c.lease_expires_at < now,
                                   jobs.c.attempts >= jobs.c.max_attempts)
                .values(status="dead", lease_owner=None, lease_expires_at=None, updated_at=now,
                        last_error="the worker stopped before finishing its last attempt (lease expired)")
            )  # fmt: skip

    def _owned(self, job_id: int, owner: str) -> Any:
        return and_(jobs.c.id == job_id, jobs.c.status == "running", jobs.c.lease_owner == owner)

    def heartbeat(self, job_id: int, owner: str, *, lease_seconds: float) -> bool:
        """Extend the lease; False when ``owner`` no longer holds the job (it must stop)."""
        now = self.clock()
        with self.engine.begin() as conn:
            result = conn.execute(update(jobs).where(self._owned(job_id, owner))
                                  .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now))  # fmt: skip
            return bool(result.rowcount == 1)

    def save_progress(self, job_id: int, owner: str, progress: dict[str, Any]) -> bool:
        """Record how far the job got, so an attempt after a crash resumes from there."""
        with self.engine.begin() as conn:
            result = conn.execute(update(jobs).where(self._owned(job_id, owner))
                                  .values(progress=progress, updated_at=self.clock()))  # fmt: skip
            return bool(result.rowcount == 1)

    def complete(self, job_id: int, owner: str) -> bool:
        """Mark done; False when the lease was lost (another worker owns the job now)."""
        with self.engine.begin() as conn:
            result = conn.execute(update(jobs).where(self._owned(job_id, owner))
                                  .values(status="done", lease_owner=None, lease_expires_at=None,
                                          last_error=None, updated_at=self.clock()))  # fmt: skip
            return bool(result.rowcount == 1)

    def fail(self, job: Job, owner: str, error: str, *, retry: bool = True) -> str:
        """Record a failed attempt; returns the new status: ``failed`` (retried after backoff) or ``dead``."""
        now = self.clock()
        dead = not retry or job.attempts >= job.max_attempts
        values: dict[str, Any] = dict(lease_owner=None, lease_expires_at=None, last_error=error[:4000], updated_at=now)
        if dead:
            values["status"] = "dead"
        else:
            values["status"] = "failed"
            delay = backoff_seconds(job.attempts, base=self.backoff_base, cap=self.backoff_cap)
            values["next_run_at"] = now + timedelta(seconds=delay)
        with self.engine.begin() as conn:
            result = conn.execute(update(jobs).where(self._owned(job.id, owner)).values(**values))
        return str(values["status"]) if result.rowcount == 1 else "lost"

    def get(self, job_id: int) -> Job | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return Job.from_row(row) if row is not None else None

    def list(self, *, status: str | None = None, kind: str | None = None, limit: int = 100) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id).limit(limit)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        with self.engine.begin() as conn:
            return [Job.from_row(row) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """How many jobs are in each status (for readiness and metrics)."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        return {status: 0 for status in STATUSES} | {str(s): int(n) for s, n in rows}
