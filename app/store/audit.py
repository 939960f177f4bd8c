"""The audit log: every action the App takes, who asked, and what came of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select

from mlpipex.app.store.schema import audit

__all__ = ["AuditEntry", "AuditLog"]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    repository: str | None
    model: str | None
    environment: str | None
    from_digest: str | None
    to_digest: str | None
    outcome: str
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
        return data


class AuditLog:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, *, actor: str, action: str, outcome: str, repository: str | None = None,
               model: str | None = None, environment: str | None = None, from_digest: str | None = None,
               to_digest: str | None = None, detail: str | None = None) -> int:  # fmt: skip
        """Append an entry; returns its id. ``actor`` is a GitHub login or ``system:…``;
        ``action`` what was done (``promote``, ``rollback``, ``installation.created``…);
        ``outcome`` e.g. ``succeeded``, ``failed``, ``refused``."""
        with self.engine.begin() as conn:
            result = conn.execute(audit.insert().values(
                at=self.clock(), actor=actor, action=action, outcome=outcome, repository=repository, model=model,
                environment=environment, from_digest=from_digest, to_digest=to_digest, detail=detail).returning(audit.c.id))  # fmt: skip
            return int(result.scalar_one())

    def query(self, *, repository: str | None = None, model: str | None = None, environment: str | None = None,
              limit: int = 50, before_id: int | None = None) -> list[AuditEntry]:  # fmt: skip
        """Newest first; page with ``before_id`` = the last id of the previous page."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if repository is not None:
            query = query.where(audit.c.repository == repository)
        if model is not None:
            query = query.where(audit.c.model == model)
        if environment is not None:
            query = query.where(audit.c.environment == environment)
        if before_id is not None:
            query = query.where(audit.c.id < before_id)
        with self.engine.begin() as conn:
            return [AuditEntry(**dict(row._mapping)) for row in conn.execute(query)]
