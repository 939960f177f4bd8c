"""The App's durable state: deliveries, the job queue, per-model locks, the audit log.

``Store.from_url("sqlite:///app.db")`` (one replica) or ``postgresql://…`` (several
replicas sharing one database). Handlers reach it as ``ctx.store``:

- ``store.locks.acquire(key, holder, reason=…, ttl_seconds=…) -> LockResult`` — never
  blocks; ``.acquired`` False means ``.holder``/``.reason``/``.acquired_at`` say who has
  it. ``store.locks.held(...)`` is the context-manager form (raises ``LockHeld``).
  ``store.locks.release(key, holder)``.
- ``store.audit.record(actor=…, action=…, outcome=…, repository=…, model=…,
  environment=…, from_digest=…, to_digest=…, detail=…)`` and ``store.audit.query(…)``.
- ``store.jobs.enqueue(kind, payload, dedupe_key=…)`` to queue follow-up work.
- ``store.installations.installation_for("owner/name")`` for work without a webhook.
- ``await store.intake.submit(Delivery(...))`` records a webhook delivery with whatever
  else is arriving, in one transaction (group commit; the webhook route uses it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, text

from mlpipex.app.store.audit import AuditEntry, AuditLog
from mlpipex.app.store.deliveries import Deliveries, Delivery, DeliveryOutcome
from mlpipex.app.store.engine import make_engine, utcnow
from mlpipex.app.store.group_commit import GroupCommit
from mlpipex.app.store.installations import Installations
from mlpipex.app.store.jobs import Job, JobQueue, backoff_seconds
from mlpipex.app.store.locks import LockHeld, LockResult, Locks
from mlpipex.app.store.schema import deliveries, jobs, metadata

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Deliveries",
    "Delivery",
    "DeliveryOutcome",
    "GroupCommit",
    "Installations",
    "Job",
    "JobQueue",
    "LockHeld",
    "LockResult",
    "Locks",
    "Store",
    "backoff_seconds",
    "utcnow",
]


class Store:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow, max_attempts: int = 5,
                 backoff_base: float = 2.0, backoff_cap: float = 600.0) -> None:  # fmt: skip
        self.engine = engine
        self.clock = clock
        self.jobs = JobQueue(engine, clock, max_attempts=max_attempts, backoff_base=backoff_base, backoff_cap=backoff_cap)
        self.deliveries = Deliveries(engine, clock, self.jobs)
        self.intake: GroupCommit[Delivery, DeliveryOutcome] = GroupCommit(self.deliveries.record_many)
        self.locks = Locks(engine, clock)
        self.audit = AuditLog(engine, clock)
        self.installations = Installations(engine, clock)

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> Store:
        return cls(make_engine(url), **kwargs)  # type: ignore[arg-type]

    def create_schema(self) -> None:
        """Create missing tables (safe to run from several replicas at once)."""
        if self.engine.dialect.name == "postgresql":
            # Serialise concurrent replicas' CREATE TABLE with a transaction-scoped advisory lock.
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(872345001)"))
                metadata.create_all(conn)
        else:
            metadata.create_all(self.engine)

    def prune(self, older_than_days: float) -> dict[str, int]:
        """Delete deliveries and finished (``done``) jobs older than the retention.

        Dead jobs and the audit log are kept. GitHub redelivers only recent
        deliveries (days), so a retention of weeks keeps redeliveries idempotent.
        """
        cutoff = self.clock() - timedelta(days=older_than_days)
        with self.engine.begin() as conn:
            gone_deliveries = conn.execute(delete(deliveries).where(deliveries.c.received_at < cutoff)).rowcount
            gone_jobs = conn.execute(delete(jobs).where(jobs.c.status == "done", jobs.c.updated_at < cutoff)).rowcount
        return {"deliveries": int(gone_deliveries), "jobs": int(gone_jobs)}

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def close(self) -> None:
        self.intake.close()
        self.engine.dispose()
