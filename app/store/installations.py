"""Which installation serves which repository, kept up to date from installation events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Engine, delete, select

from mlpipex.app.store.engine import insert_ignoring_conflicts
from mlpipex.app.store.schema import installation_repositories as table

__all__ = ["Installations"]


class Installations:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, installation_id: int, repositories: Iterable[str], *, account: str | None = None) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            for name in repositories:
                key = name.lower()
                conn.execute(delete(table).where(table.c.repository == key))
                conn.execute(insert_ignoring_conflicts(self.engine, table), dict(
                    repository=key, installation_id=installation_id, account=account, updated_at=now))  # fmt: skip

    def remove(self, installation_id: int, repositories: Iterable[str]) -> None:
        with self.engine.begin() as conn:
            for name in repositories:
                conn.execute(delete(table).where(table.c.repository == name.lower(),
                                                 table.c.installation_id == installation_id))  # fmt: skip

    def forget(self, installation_id: int) -> None:
        """The App was uninstalled from an account: drop all its repositories."""
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.installation_id == installation_id))

    def installation_for(self, repository: str) -> int | None:
        """The installation id for ``owner/name`` (None when the App is not installed there)."""
        with self.engine.begin() as conn:
            value = conn.execute(select(table.c.installation_id).where(table.c.repository == repository.lower())).scalar()
        return int(value) if value is not None else None

    def repositories(self, installation_id: int) -> list[str]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(table.c.repository).where(table.c.installation_id == installation_id)
                                .order_by(table.c.repository)).all()  # fmt: skip
        return [r[0] for r in rows]

    def all(self) -> list[tuple[str, int]]:
        """Every (repository, installation id) the App serves, by name."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(table.c.repository, table.c.installation_id).order_by(table.c.repository)).all()
        return [(str(r[0]), int(r[1])) for r in rows]
