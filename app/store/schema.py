"""The App's tables (SQLAlchemy Core). Created on start with ``create_all``.

Migrations are future work: until the first release changes a table, ``create_all``
on start is enough (it creates what is missing and never alters what exists).
All times are naive UTC ``datetime`` values computed by the process (never the
database's ``now()``), so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text

__all__ = ["actions", "audit", "deliveries", "installation_repositories", "jobs", "locks", "metadata"]

metadata = MetaData()

# Every webhook delivery that passed verification; the primary key makes a
# redelivery (same X-GitHub-Delivery) a no-op at the database, not by check-then-insert.
deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", String(100), primary_key=True),
    Column("event", String(100), nullable=False),
    Column("action", String(100)),
    Column("repository", String(300)),
    Column("installation_id", Integer),
    Column("outcome", String(20), nullable=False),  # queued | ignored | replayed
    Column("reason", Text),
    Column("job_id", Integer),
    Column("received_at", DateTime, nullable=False),
)  # fmt: skip

# The actions deliveries asked for (mlpipex.app.replay.action_key): a signed body posted
# again under a new X-GitHub-Delivery finds its action here and queues nothing. Kept
# when deliveries are pruned: a replay stays refused for as long as the row exists.
actions = Table(
    "actions", metadata,
    Column("action_key", String(300), primary_key=True),
    Column("delivery_id", String(100), nullable=False),
    Column("received_at", DateTime, nullable=False),
)  # fmt: skip

# The durable work queue. status: queued → running → done, or back to queued with a
# later next_run_at (retry), or dead after max_attempts. A running job whose lease
# expired belongs to a worker that died: it is claimed again.
jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(100), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(300), unique=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("next_run_at", DateTime, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", DateTime),
    Column("last_error", Text),
    Column("progress", JSON),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_jobs_status_next_run_at", "status", "next_run_at"),
)  # fmt: skip

# Per-model locks shared by every replica. expires_at NULL: held until released.
locks = Table(
    "locks", metadata,
    Column("key", String(300), primary_key=True),
    Column("holder", String(300), nullable=False),
    Column("reason", Text),
    Column("acquired_at", DateTime, nullable=False),
    Column("expires_at", DateTime),
)  # fmt: skip

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("repository", String(300)),
    Column("model", String(200)),
    Column("environment", String(100)),
    Column("from_digest", String(200)),
    Column("to_digest", String(200)),
    Column("outcome", String(50), nullable=False),
    Column("detail", Text),
    Index("ix_audit_repository_model", "repository", "model"),
)  # fmt: skip

# Which installation serves which repository (kept from installation events), so
# work that arrives without an installation id (alerts, schedules) can get a token.
installation_repositories = Table(
    "installation_repositories", metadata,
    Column("repository", String(300), primary_key=True),  # owner/name, lower case
    Column("installation_id", Integer, nullable=False, index=True),
    Column("account", String(200)),
    Column("updated_at", DateTime, nullable=False),
)  # fmt: skip
