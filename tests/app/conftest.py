"""Fixtures for the App: databases (SQLite, and a throwaway PostgreSQL cluster), a clock, signing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the App's tests need the app extra (pip install -e '.[test]')")
pytest.importorskip("sqlalchemy")

from mlpipex.app.auth import sign

SECRET = "It's a Secret to Everybody"


class Clock:
    """A settable clock for the store: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite (a file with WAL) and PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    cluster = request.getfixturevalue("postgres")  # tests/conftest.py
    return cluster.database()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Any]:
    from mlpipex.app.store import Store

    s = Store.from_url(database_url, clock=clock, max_attempts=3)
    s.create_schema()
    yield s
    s.close()


def signed_headers(body: bytes, event: str, delivery: str | None = None, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()
