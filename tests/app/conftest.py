"""Fixtures for the App: databases (SQLite, and a throwaway PostgreSQL cluster), a clock, signing."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
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


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, as the ``postgres`` user when run as root."""

    def __init__(self) -> None:
        initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if not initdb or not pg_ctl:
            pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are missing: apt-get install postgresql "
                        "(scripts/test.sh does); the PostgreSQL variants of the store tests skip")  # fmt: skip
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="mlpipex-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
            shutil.chown(self.dir, "postgres", "postgres")
            self.prefix = [runuser, "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self.port = _free_port()
        self._run([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(self.prefix + argv, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {result.stderr}\n{log}")

    def database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def stop(self) -> None:
        subprocess.run(self.prefix + [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    pytest.importorskip("psycopg", reason="psycopg is missing (pip install -e '.[test]')")
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite (a file with WAL) and PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
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
