"""Webhook deliveries: recorded once by ``X-GitHub-Delivery``, queued in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from mlpipex.app.store.engine import insert_ignoring_conflicts
from mlpipex.app.store.jobs import JobQueue
from mlpipex.app.store.schema import actions, deliveries

__all__ = ["Deliveries", "DeliveryOutcome"]


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
        outcome = "queued" if job_kind else "ignored"
        job_id: int | None = None
        now = self.clock()
        row: dict[str, Any] = dict(delivery_id=delivery_id, event=event, action=action, repository=repository,
                   installation_id=installation_id, outcome=outcome, reason=reason, job_id=None, received_at=now)  # fmt: skip
        try:
            with self.engine.begin() as conn:
                if action_key is not None and job_kind:
                    taken = conn.execute(insert_ignoring_conflicts(self.engine, actions),
                                         dict(action_key=action_key, delivery_id=delivery_id, received_at=now)).first()  # fmt: skip
                    if taken is None:
                        raise _Replayed  # roll back with the transaction: nothing is queued
                if job_kind:
                    job_id, _ = self.queue.enqueue(job_kind, payload, dedupe_key=f"github-delivery:{delivery_id}", conn=conn)
                    row["job_id"] = job_id
                if conn.execute(insert_ignoring_conflicts(self.engine, deliveries), row).first() is None:
                    raise _Duplicate  # roll the job back with the transaction
        except _Duplicate:
            with self.engine.begin() as conn:
                first = conn.execute(select(deliveries).where(deliveries.c.delivery_id == delivery_id)).one()
            return DeliveryOutcome(delivery_id, first.outcome, first.reason, first.job_id, duplicate=True)
        except _Replayed:
            return self._replayed(row, str(action_key))
        return DeliveryOutcome(delivery_id, outcome, reason, job_id, duplicate=False)

    def _replayed(self, row: dict[str, Any], action_key: str) -> DeliveryOutcome:
        """The action was asked for before: by GitHub's redelivery (the same id) or by a replay."""
        with self.engine.begin() as conn:
            first = conn.execute(select(actions.c.delivery_id).where(actions.c.action_key == action_key)).scalar_one()
            if first == row["delivery_id"]:  # GitHub redelivered it: the first delivery's record answers
                original = conn.execute(select(deliveries).where(deliveries.c.delivery_id == first)).one()
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
