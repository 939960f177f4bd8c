"""Per-model locks that hold across replicas (a row per key; the primary key decides).

``acquire`` never blocks: it takes the lock, or says who holds it so the caller can
reply "held by @alice for /promote since …". A lock with a TTL that its holder
never released (the process died) is taken over once it expires. Re-acquiring by
the same holder refreshes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update

from mlpipex.app.store.engine import insert_ignoring_conflicts
from mlpipex.app.store.schema import locks

__all__ = ["LockHeld", "LockResult", "Locks"]


@dataclass(frozen=True)
class LockResult:
    """The outcome of ``acquire``. When refused, holder/reason/times describe the current holder."""

    acquired: bool
    key: str
    holder: str
    reason: str | None
    acquired_at: datetime
    expires_at: datetime | None


class LockHeld(Exception):
    """Raised by ``Locks.held`` when another holder has the lock."""

    def __init__(self, result: LockResult) -> None:
        super().__init__(f"{result.key} is locked by {result.holder}" + (f" ({result.reason})" if result.reason else ""))
        self.result = result


class Locks:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def acquire(self, key: str, holder: str, *, reason: str | None = None,
                ttl_seconds: float | None = None) -> LockResult:  # fmt: skip
        """Take ``key`` for ``holder``; ``ttl_seconds=None`` holds it until ``release``."""
        for _ in range(10):
            now = self.clock()
            expires = now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
            mine = LockResult(True, key, holder, reason, now, expires)
            with self.engine.begin() as conn:
                inserted = conn.execute(insert_ignoring_conflicts(self.engine, locks), dict(
                    key=key, holder=holder, reason=reason, acquired_at=now, expires_at=expires))  # fmt: skip
                if inserted.first() is not None:
                    return mine
                # Taken: ours to refresh, or an expired one to take over, in one conditional UPDATE.
                taken = conn.execute(
                    update(locks).where(locks.c.key == key,
                                        or_(locks.c.holder == holder, locks.c.expires_at < now))
                    .values(holder=holder, reason=reason, acquired_at=now, expires_at=expires))  # fmt: skip
                if taken.rowcount == 1:
                    return mine
                row = conn.execute(select(locks).where(locks.c.key == key)).first()
            if row is not None:
                m = row._mapping
                return LockResult(False, key, m["holder"], m["reason"], m["acquired_at"], m["expires_at"])
            # released between our INSERT and SELECT: try again
        raise RuntimeError(f"could not settle lock {key!r}: too much contention")

    def release(self, key: str, holder: str | None) -> bool:
        """Release ``key`` if ``holder`` has it (``holder=None``: whoever has it, e.g. ``/unlock``)."""
        query = delete(locks).where(locks.c.key == key)
        if holder is not None:
            query = query.where(locks.c.holder == holder)
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def holder(self, key: str) -> LockResult | None:
        """Who holds ``key`` now (an expired lock counts as free)."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(locks).where(locks.c.key == key)).first()
        if row is None or (row.expires_at is not None and row.expires_at < now):
            return None
        m = row._mapping
        return LockResult(False, key, m["holder"], m["reason"], m["acquired_at"], m["expires_at"])

    @contextmanager
    def held(self, key: str, holder: str, *, reason: str | None = None,
             ttl_seconds: float | None = None) -> Iterator[LockResult]:  # fmt: skip
        """``with store.locks.held(key, holder): …`` — raises ``LockHeld`` when refused."""
        result = self.acquire(key, holder, reason=reason, ttl_seconds=ttl_seconds)
        if not result.acquired:
            raise LockHeld(result)
        try:
            yield result
        finally:
            self.release(key, holder)
