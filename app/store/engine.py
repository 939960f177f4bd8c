"""Engines for SQLite (one replica, the default) and PostgreSQL (several replicas)."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mlpipex.errors import ConfigError

__all__ = ["insert_ignoring_conflicts", "make_engine", "utcnow"]


def utcnow() -> datetime:
    """Now in UTC, naive (the form every table stores)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine for ``url``: ``sqlite:///FILE`` or ``postgresql://…`` (psycopg 3)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("MLPIPEX_DATABASE_URL is not a database URL",
                          fix="use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB") from None  # fmt: skip
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer at a time anyway, and threads
        # queueing for the pool hand over in microseconds, where SQLite's busy handler
        # sleeps for milliseconds between retries. (Processes sharing the file still
        # meet the busy timeout.) Store methods never nest transactions, so one suffices.
        engine = create_engine(parsed, pool_size=1, max_overflow=0, pool_timeout=60,
                               connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False})  # fmt: skip
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    raise ConfigError(f"MLPIPEX_DATABASE_URL uses {backend!r}, which the App does not support",
                      fix="use sqlite:///PATH (one replica) or postgresql://… (several replicas)")  # fmt: skip


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" below open transactions, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: a commit returns only once the WAL is synced, so a webhook the App has
        # acknowledged survives a power cut too (NORMAL survives only a crash of the App).
        # Deliveries share commits under load (group_commit), which keeps FULL cheap.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads
        # and then writes can fail with "database is locked" at once when another
        # process wrote in between, which the busy timeout does not cover.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@functools.lru_cache(maxsize=32)
def _insert_ignoring_conflicts(dialect_name: str, table: Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def insert_ignoring_conflicts(engine: Engine, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING <primary key>``: ``.first()`` is None on conflict.

    (RETURNING, not rowcount: drivers disagree on rowcount once SQLAlchemy adds its own RETURNING.)
    Built once per table; pass the row as execute parameters: ``conn.execute(stmt, row)``."""
    return _insert_ignoring_conflicts(engine.dialect.name, table)
