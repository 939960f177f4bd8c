"""Durable state in SQLite (stdlib): the alert outbox, window checkpoints, hysteresis.

A checkpoint is one transaction: the windows whose buffers changed (compressed),
every window's counters and last checks, the join state, and the journal position
they include; replaying the journal from that position gives back the rest.

An alert is written to the outbox in the same transaction that records the
hysteresis step which fired it, and marked sent only after the receiver answered
2xx, so an alert survives a crash or restart and goes out once after it (a
receiver that saw it before the crash gets the same ``id`` again and can dedupe).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.errors import InputError
from mlpipex.monitor._alerts import Hysteresis
from mlpipex.monitor._windows import Window, pack_arrays

__all__ = ["PendingAlert", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, body TEXT NOT NULL, created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL, sent REAL, failed REAL, last_error TEXT
);
CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, meta TEXT NOT NULL, arrays BLOB NOT NULL, saved REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hysteresis (key TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL,
    joins TEXT NOT NULL, saved REAL NOT NULL);
"""


@dataclass(frozen=True)
class PendingAlert:
    id: str
    url: str
    body: str
    attempts: int


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot keep the monitor's state in {path}: {exc}",
                             fix="pass --state DIR with a writable directory") from None  # fmt: skip

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- hysteresis and the outbox -----------------------------------------------------

    def hysteresis(self, key: str) -> Hysteresis:
        with self._lock:
            row = self._db.execute("SELECT state FROM hysteresis WHERE key = ?", (key,)).fetchone()
        return Hysteresis.from_dict(json.loads(row[0])) if row else Hysteresis()

    def record_step(self, key: str, state: Hysteresis, alert: tuple[str, str, dict[str, Any]] | None = None) -> None:
        """Save the hysteresis state and, atomically with it, a new alert (id, url, body)."""
        with self._tx() as db:
            db.execute("INSERT INTO hysteresis(key, state) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                       (key, json.dumps(state.to_dict())))  # fmt: skip
            if alert is not None:
                alert_id, url, body = alert
                db.execute("INSERT OR IGNORE INTO alerts(id, url, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)",
                           (alert_id, url, json.dumps(body, sort_keys=True), time.time(), 0.0))  # fmt: skip

    def hysteresis_states(self) -> dict[str, dict[str, Any]]:
        """Every hysteresis state by key (what a Kafka group's leader hands on)."""
        with self._lock:
            rows = self._db.execute("SELECT key, state FROM hysteresis").fetchall()
        return {key: json.loads(state) for key, state in rows}

    def add_alert(self, alert_id: str, url: str, body: dict[str, Any]) -> bool:
        """Queue an alert decided elsewhere (a previous leader); False if this id is here already."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO alerts(id, url, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)",
                                (alert_id, url, json.dumps(body, sort_keys=True), time.time(), 0.0))  # fmt: skip
            return cursor.rowcount == 1

    def recent_alerts(self, limit: int = 100) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, url, body) of the newest alerts, sent or not."""
        with self._lock:
            rows = self._db.execute("SELECT id, url, body FROM alerts ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def due(self, now: float, limit: int = 100) -> list[PendingAlert]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, body, attempts FROM alerts WHERE sent IS NULL AND failed IS NULL AND next_attempt <= ?"
                " ORDER BY created LIMIT ?", (now, limit)).fetchall()  # fmt: skip
        return [PendingAlert(*row) for row in rows]

    def mark_sent(self, alert_id: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE alerts SET sent = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?", (now, alert_id))

    def mark_retry(self, alert_id: str, next_attempt: float, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE alerts SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
                       (next_attempt, error[:500], alert_id))  # fmt: skip

    def mark_failed(self, alert_id: str, now: float, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE alerts SET attempts = attempts + 1, failed = ?, last_error = ? WHERE id = ?",
                       (now, error[:500], alert_id))  # fmt: skip

    def alert_counts(self) -> dict[str, int]:
        with self._lock:
            row = self._db.execute(
                "SELECT SUM(sent IS NULL AND failed IS NULL), SUM(sent IS NOT NULL), SUM(failed IS NOT NULL) FROM alerts"
            ).fetchone()  # fmt: skip
        return {"pending": int(row[0] or 0), "sent": int(row[1] or 0), "rejected": int(row[2] or 0)}

    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT id, body, created, attempts, sent, failed, last_error FROM alerts "
                                    "ORDER BY created DESC LIMIT ?", (limit,)).fetchall()  # fmt: skip
        return [{"id": r[0], "body": json.loads(r[1]), "created": r[2], "attempts": r[3], "sent": r[4],
                 "failed": r[5], "last_error": r[6]} for r in rows]  # fmt: skip

    # -- windows -------------------------------------------------------------------------

    def save_windows(self, windows: list[Window]) -> None:
        """Every window in full (no journal position): for callers without a journal."""
        self.save_checkpoint(None, [(w.key.label(), w.meta_state(), w.array_state()) for w in windows], [], None)

    def save_checkpoint(self, position: int | None, windows: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
                        dropped: list[str], joins: dict[str, Any] | None) -> None:  # fmt: skip
        """Windows (arrays ``None``: unchanged, counters only), dropped windows and the journal position, at once."""
        packed = [(label, json.dumps(meta, default=float), None if arrays is None else pack_arrays(arrays))
                  for label, meta, arrays in windows]  # fmt: skip — compression outside the lock
        joins_text = json.dumps(joins, default=float) if joins is not None else None
        now = time.time()
        with self._tx() as db:
            for label, meta, blob in packed:
                if blob is None:
                    db.execute("UPDATE windows SET meta = ?, saved = ? WHERE key = ?", (meta, now, label))
                else:
                    db.execute("INSERT INTO windows(key, meta, arrays, saved) VALUES (?, ?, ?, ?) ON CONFLICT(key) "
                               "DO UPDATE SET meta = excluded.meta, arrays = excluded.arrays, saved = excluded.saved",
                               (label, meta, blob, now))  # fmt: skip
            for label in dropped:
                db.execute("DELETE FROM windows WHERE key = ?", (label,))
            if position is not None:
                db.execute("INSERT INTO checkpoint(id, position, joins, saved) VALUES (1, ?, ?, ?) ON CONFLICT(id) "
                           "DO UPDATE SET position = excluded.position, joins = excluded.joins, saved = excluded.saved",
                           (position, joins_text or "{}", now))  # fmt: skip

    def saved_windows(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT key FROM windows")}

    def load_checkpoint(self) -> tuple[int, dict[str, Any]]:
        """The journal position the saved windows include (0: none yet) and the join state."""
        with self._lock:
            row = self._db.execute("SELECT position, joins FROM checkpoint WHERE id = 1").fetchone()
        return (int(row[0]), json.loads(row[1])) if row else (0, {})

    def load_windows(self) -> list[Window]:
        with self._lock:
            rows = self._db.execute("SELECT meta, arrays FROM windows ORDER BY saved").fetchall()
        return [Window.from_state(json.loads(meta), arrays) for meta, arrays in rows]
