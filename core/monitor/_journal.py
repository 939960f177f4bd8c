"""The event journal: what the monitor accepted is appended here before it is acknowledged.

``EventJournal`` is the seam. The monitor appends every accepted CloudEvent (and every
batch of labels) in the order it applied them, waits for the append to be durable
before answering 2xx, checkpoints its windows with the journal position they
include, and on start replays the journal from the last checkpoint's position.
``release(position)`` says everything before it is in a checkpoint and may go.

A Kafka consumer (issue 22) replaces ``FileJournal`` behind the same interface: the
topic is the journal (``append`` = produce and wait for the broker's ack, ``replay``
= consume from the checkpointed offset, ``release`` = commit that offset). With
several replicas the HTTP receiver only produces, and the partition's owner applies
what it consumes with ``Ingestor.apply_record`` (the function replay uses here); the
records are CloudEvent attributes plus the body, as KafkaSink writes them.

``FileJournal`` is an append-only file in segments, one ``write(2)`` per record
(length, CRC-32, payload), a torn last record (a crash mid-write) cut off on open.
Its ``sync`` policy says when an append counts as durable:

- ``"os"`` (default): once it is in the kernel (the ``write`` returned). It survives
  the process being killed (SIGKILL, OOM, a crash); a kernel crash or power loss can
  lose what was written in the last ``fsync_interval`` seconds (fsync runs in the
  background). Like Kafka's default, which acknowledges from the page cache.
- ``"always"``: once it is fsynced. Appends are group-committed (one fsync covers
  every record written while the previous one ran), so throughput is the number of
  concurrent senders per fsync latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from mlpipex.errors import InputError
from mlpipex.monitor._events import MARKER_ATTRIBUTE

__all__ = ["SYNC_POLICIES", "EventJournal", "FileJournal", "decode_record", "encode_event", "encode_labels"]

SYNC_POLICIES = ("os", "always")
_HEADER = struct.Struct("<II")  # payload length, CRC-32 of the payload
_MAX_RECORD = 64 << 20
# The CloudEvent attributes the monitor reads (the ingest path parses exactly these again on replay).
_KEPT = ("ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "ce-inferenceservicename", "ce-namespace",
         "ce-component", "ce-endpoint")  # fmt: skip
# An event with the logger URL's revision marker: its own record kind ("m"), so journals written
# before the marker existed ("e", nine attributes) replay as they were.
_MARKED = (*_KEPT, MARKER_ATTRIBUTE)


class EventJournal(Protocol):
    def append(self, record: bytes) -> int:
        """Append one record (called in the order the records were applied); the position after it."""
        ...

    def wait(self, position: int) -> None:
        """Block until everything before ``position`` is durable."""
        ...

    async def wait_async(self, position: int) -> None:
        """``wait`` for an event loop."""
        ...

    def position(self) -> int:
        """The position after the last record appended."""
        ...

    def replay(self, start: int) -> Iterator[tuple[int, bytes]]:
        """(position after it, record) for each record from ``start`` on, oldest first."""
        ...

    def release(self, position: int) -> None:
        """Everything before ``position`` is in a checkpoint: it need not be kept."""
        ...

    def pending_bytes(self, since: int) -> int:
        """How much was appended after ``since`` (what a restart would replay)."""
        ...

    def close(self) -> None: ...


# -- records ---------------------------------------------------------------------------


def encode_event(now: float, headers: Mapping[str, str], body: bytes) -> bytes:
    # One line per kept attribute, in _KEPT's order (an HTTP header value holds no newline; a missing
    # one is empty, which the ingest path reads the same): a few hundred ns, where JSON took 6 µs.
    kind, names = (b"m", _MARKED) if headers.get(MARKER_ATTRIBUTE) else (b"e", _KEPT)
    values = [headers.get(name) or "" for name in names]
    if any("\n" in value for value in values):
        raise ValueError("a CloudEvent attribute holds a newline")
    text = "\n".join([repr(now), *values, ""])
    return kind + text.encode("utf-8", "surrogateescape") + body


def encode_labels(now: float, items: list[tuple[str, list[float], float | None]]) -> bytes:
    return b"l" + json.dumps([now, [list(item) for item in items]], separators=(",", ":")).encode()


def decode_record(record: bytes) -> tuple[str, float, Any]:
    """("event", received, (headers, body)) or ("labels", received, [(id, labels, value)…])."""
    if record[:1] in (b"e", b"m"):
        names = _KEPT if record[:1] == b"e" else _MARKED
        parts = record[1:].split(b"\n", len(names) + 1)
        values = [v.decode("utf-8", "surrogateescape") for v in parts[1:-1]]
        return "event", float(parts[0]), ({n: v for n, v in zip(names, values) if v}, parts[-1])
    now, items = json.loads(record[1:])
    return "labels", float(now), [(str(i), [float(v) for v in t], None if x is None else float(x)) for i, t, x in items]


# -- the file journal ------------------------------------------------------------------


class FileJournal:
    def __init__(self, directory: Path, *, sync: str = "os", fsync_interval: float = 1.0,
                 segment_bytes: int = 64 << 20) -> None:  # fmt: skip
        if sync not in SYNC_POLICIES:
            raise InputError(f"journal sync policy {sync!r} is not one of {', '.join(SYNC_POLICIES)}",
                             fix="use --journal-sync os (default) or always")  # fmt: skip
        self.directory, self.sync = directory, sync
        self.fsync_interval, self.segment_bytes = fsync_interval, segment_bytes
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._segments = sorted(int(p.stem) for p in directory.glob("*.log") if p.stem.isdigit())
            if not self._segments:
                self._segments = [0]
                (directory / _name(0)).touch()
            last = self._segments[-1]
            valid = _valid_length(directory / _name(last))
            os.truncate(directory / _name(last), valid)  # a torn record from a crash mid-write
            self._fd = os.open(directory / _name(last), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InputError(f"cannot keep the monitor's journal in {directory}: {exc}",
                             fix="pass --state DIR with a writable directory") from None  # fmt: skip
        self._written = last + valid  # the position after the last record
        self._synced = self._written
        self._segment_end = self._written
        self._lock = threading.Lock()
        self._durable = threading.Condition(self._lock)
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._sync_loop, name="mlpipex-monitor-journal", daemon=True)
        self._thread.start()

    # -- appending -----------------------------------------------------------------------

    def append(self, record: bytes) -> int:
        if len(record) > _MAX_RECORD:
            raise ValueError(f"a journal record of {len(record)} bytes is larger than {_MAX_RECORD}")
        frame = _HEADER.pack(len(record), zlib.crc32(record)) + record
        with self._lock:
            if self._closed:
                raise OSError("the journal is closed")
            if self._segment_end - self._segments[-1] >= self.segment_bytes:
                self._roll()
            written = os.write(self._fd, frame)
            if written != len(frame):  # a short write (disk full): cut it off, refuse the record
                os.ftruncate(self._fd, self._segment_end - self._segments[-1])
                raise OSError(f"the journal could write only {written} of {len(frame)} bytes")
            self._written = self._segment_end = self._segment_end + len(frame)
            if self.sync == "always":
                self._durable.notify_all()
            return self._written

    def position(self) -> int:
        with self._lock:
            return self._written

    def pending_bytes(self, since: int) -> int:
        return max(0, self.position() - since)

    def wait(self, position: int) -> None:
        if self.sync != "always":
            return
        with self._lock:
            while self._synced < position and not self._closed:
                self._durable.wait(1.0)
            if self._synced < position:
                raise OSError("the journal closed before the record was durable")

    async def wait_async(self, position: int) -> None:
        if self.sync != "always":
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._synced >= position:
                return
            self._waiters.append((position, loop, future))
        await future

    def _roll(self) -> None:
        """Start a new segment at the current position (lock held)."""
        os.fsync(self._fd)
        os.close(self._fd)
        start = self._segment_end
        self._fd = os.open(self.directory / _name(start), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._segments.append(start)
        self._synced = max(self._synced, start)
        _fsync_directory(self.directory)

    def _sync_loop(self) -> None:
        while True:
            with self._lock:
                if self.sync == "always":
                    while self._synced >= self._written and not self._closed:
                        self._durable.wait()
                else:
                    self._durable.wait(self.fsync_interval)
                if self._closed:
                    return
                target, fd = self._written, self._fd
            if target > self._synced:
                try:
                    os.fsync(fd)  # outside the lock: appends go on while the disk works (group commit)
                except OSError:
                    continue  # the segment was rolled (and fsynced) meanwhile
            with self._lock:
                self._synced = max(self._synced, target)
                self._durable.notify_all()
                ready = [w for w in self._waiters if w[0] <= self._synced]
                self._waiters = [w for w in self._waiters if w[0] > self._synced]
            for _, loop, future in ready:
                loop.call_soon_threadsafe(_resolve, future)

    # -- reading and compaction ----------------------------------------------------------

    def replay(self, start: int) -> Iterator[tuple[int, bytes]]:
        with self._lock:
            segments = list(self._segments)
            end = self._written
        for index, first in enumerate(segments):
            following = segments[index + 1] if index + 1 < len(segments) else end + 1
            if following <= start:
                continue
            with open(self.directory / _name(first), "rb") as handle:
                data = handle.read()
            offset = 0
            while offset + _HEADER.size <= len(data) and first + offset < end:
                length, crc = _HEADER.unpack_from(data, offset)
                record = data[offset + _HEADER.size: offset + _HEADER.size + length]
                if len(record) != length or zlib.crc32(record) != crc:
                    break
                offset += _HEADER.size + length
                if first + offset > start:
                    yield first + offset, record

    def release(self, position: int) -> None:
        with self._lock:
            if position >= self._written and self._segment_end > self._segments[-1]:
                self._roll()  # all of the active segment is checkpointed: start afresh so it can go
            while len(self._segments) > 1 and self._segments[1] <= position:
                gone = self._segments.pop(0)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.directory / _name(gone))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._durable.notify_all()
        self._thread.join(timeout=10)
        with self._lock:
            try:
                os.fsync(self._fd)
                self._synced = self._written
            finally:
                os.close(self._fd)
            waiters, self._waiters = self._waiters, []
        for _, loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _name(start: int) -> str:
    return f"{start:020d}.log"


def _valid_length(path: Path) -> int:
    """The length of the whole records at the start of a segment."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        record = data[offset + _HEADER.size: offset + _HEADER.size + length]
        if len(record) != length or zlib.crc32(record) != crc:
            break
        offset += _HEADER.size + length
    return offset


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
