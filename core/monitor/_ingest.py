"""Ingestion: CloudEvents in, windows updated, request and response joined by ``ce-id``.

The join keeps only a small record per unanswered id (window, kind, times) in a
bounded, insertion-ordered map: an entry older than ``ttl`` seconds, or the oldest
when the map is full, is settled without its partner. An expired *request* counts
as an error (KServe logs no response for a failed request) once the window has
seen any response at all (a logger in `request` mode sends none). Predictions are
kept by id, also bounded, so labels posted later can be joined to them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlpipex.monitor._events import (
    Event,
    MalformedEvent,
    decode_request,
    decode_response,
    parse_event,
)
from mlpipex.monitor._journal import EventJournal, decode_record, encode_event, encode_labels
from mlpipex.monitor._windows import Window, WindowKey

__all__ = ["Ingestor", "Limits", "ModelInfo"]


@dataclass(frozen=True)
class ModelInfo:
    """What the monitor knows of a model (InferenceService) from its package or config."""

    service: str
    features: tuple[str, ...] = ()
    roles: Mapping[str, str | None] = field(default_factory=dict)  # package `outputs`: label/probabilities/value
    task: str = "classification"
    profile: Mapping[str, Any] | None = None  # reference profile, "mlpipex.profile/v1"
    baseline: Mapping[str, float] = field(default_factory=dict)  # the package's offline metrics
    sla_ms: Mapping[str, float] = field(default_factory=dict)  # {"p99": 100.0, ...}
    repository: str | None = None
    environment: str | None = None


_UNKNOWN = ModelInfo("")  # a model without a reference: features and roles come from the payloads


@dataclass(frozen=True)
class Limits:
    window: int = 10_000  # rows (and latencies, confidences…) kept per window
    max_windows: int = 256  # windows of configured models; the least recently used beyond this are dropped
    revisions: int = 16  # windows per configured model: a sender's made-up revisions evict only its own model's
    unknown_windows: int = 8  # windows of models the monitor was not configured for (0: refuse them)
    unknown_features: int = 256  # widest request accepted for a model without a reference
    pending: int = 100_000  # unanswered ids kept for the join
    ttl: float = 60.0  # seconds an id waits for its partner
    predictions: int = 100_000  # answered ids kept for labels posted later
    prediction_bytes: int = 64 << 20  # and the bytes they may hold together
    prediction_rows: int = 10_000  # a response with more rows than this is not kept for labels
    inflight_bytes: int = 64 << 20  # request bodies buffered at once (slow senders); beyond it 503


_ENTRY_BYTES = 120  # what one kept prediction costs besides its values (dict slot, key, tuple)


@dataclass
class _Pending:
    kind: str
    key: WindowKey
    event_time: float | None
    received: float


class Ingestor:
    """All mutable monitor state, behind one lock (the scheduler runs in another thread)."""

    def __init__(self, limits: Limits | None = None, models: Mapping[str, ModelInfo] | None = None) -> None:
        self.limits = limits or Limits()
        self.models: dict[str, ModelInfo] = dict(models or {})
        self.windows: OrderedDict[WindowKey, Window] = OrderedDict()
        self.pending: OrderedDict[str, _Pending] = OrderedDict()
        self.predictions: OrderedDict[str, tuple[WindowKey, np.ndarray | float]] = OrderedDict()
        self.events: Counter[str] = Counter()
        self.malformed: Counter[str] = Counter()
        self.joined = 0
        self.expired: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # requests refused before their body was read, by reason
        self.lock = threading.RLock()
        # Least recently used order per pool: a flood of unknown models can never evict a known one.
        self._known: OrderedDict[WindowKey, None] = OrderedDict()
        self._unknown: OrderedDict[WindowKey, None] = OrderedDict()
        self.prediction_bytes = 0
        # What a checkpoint must write: windows whose buffers changed, windows dropped since the last one.
        self.changed: set[WindowKey] = set()
        self.dropped: set[WindowKey] = set()
        self.journal: EventJournal | None = None  # where accepted input is made durable first

    # -- accounting ----------------------------------------------------------------------

    def state_bytes(self) -> int:
        """Bytes held for windows and kept predictions (the part that grows with what is sent)."""
        with self.lock:
            return sum(w.nbytes for w in self.windows.values()) + self.prediction_bytes

    # -- the entry point -----------------------------------------------------------------

    def ingest(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Event:
        """Take one binary-mode CloudEvent; ``MalformedEvent`` (counted) if it cannot be used."""
        return self.accept(headers, body, now)[0]

    def accept(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> tuple[Event, int]:
        """Take one event and append it to the journal; the journal position to wait for before acknowledging.

        Applying and appending happen under one lock, so a checkpoint's journal position
        always matches what its windows hold (exactly once on replay). A refused event is
        not journaled.
        """
        now = time.time() if now is None else now
        try:
            event = parse_event(headers, body)
            try:  # encoded before it is applied: a record that cannot be written must not count
                record = encode_event(now, headers, body) if self.journal else b""
            except ValueError as exc:
                raise MalformedEvent("attributes", f"a CloudEvent attribute cannot be stored: {exc}") from None
            with self.lock:
                self._take(event, now)
                position = self.journal.append(record) if self.journal else 0
        except MalformedEvent as exc:
            with self.lock:
                self.malformed[exc.reason] += 1
            raise
        return event, position

    def replay(self, journal: EventJournal, start: int) -> int:
        """Re-apply what the journal holds from ``start`` (after a checkpoint); the number of records."""
        count = 0
        for _, record in journal.replay(start):
            self.apply_record(record)
            count += 1
        return count

    def apply_record(self, record: bytes) -> None:
        """Apply one journal record (an event or a batch of labels) without journaling it again.

        What a consumer of a shared log (issue 22's Kafka topic) calls for each record it reads.
        """
        kind, now, data = decode_record(record)
        with self.lock:
            if kind == "event":
                headers, body = data
                try:
                    self._take(parse_event(headers, body), now)
                except MalformedEvent as exc:  # the code that accepted it changed since: count, go on
                    self.malformed[exc.reason] += 1
            else:
                for event_id, truth, value in data:
                    self._truth(event_id, truth, value, now)

    def _take(self, event: Event, now: float) -> None:
        model = self.models.get(event.service) or _UNKNOWN
        key = WindowKey(event.namespace, event.service, event.component, event.revision)
        failed = False
        if event.kind == "request":
            names, matrix = decode_request(event.payload, model.features or None)
            if model is _UNKNOWN and len(names) > self.limits.unknown_features:
                raise MalformedEvent("features", f"{len(names)} features for {event.service!r}, which the monitor "
                                                 f"has no reference for: at most {self.limits.unknown_features}")  # fmt: skip
            window = self._window(key, names, now)
            if window.features and names != window.features:
                # Columns that are not the model's features would poison the drift test.
                raise MalformedEvent("features", f"the request's features {names[:5]} are not the window's "
                                                 f"{window.features[:5]} (by name and order)")  # fmt: skip
            window.requests += 1
            window.add_rows(matrix)
        else:
            outputs = decode_response(event.payload, model.roles)
            window = self._window(key, None, now)
            window.responses += 1
            window.add_confidences(outputs.confidences)
            failed = outputs.error
            if not failed:
                self._remember(event.id, key, outputs.predictions)
        window.endpoint, window.last_seen = event.endpoint, now
        self.changed.add(key)
        self.events[event.kind] += 1
        self._join(event, key, now, error=failed)
        self.expire(now)

    def _join(self, event: Event, key: WindowKey, now: float, *, error: bool) -> None:
        partner = self.pending.pop(event.id, None)
        if partner is None or partner.kind == event.kind:
            self.pending[event.id] = _Pending(event.kind, key, event.time, now)
            if len(self.pending) > self.limits.pending:
                self._settle(*self.pending.popitem(last=False), reason="overflow")
            return
        request_time = event.time if event.kind == "request" else partner.event_time
        response_time = event.time if event.kind == "response" else partner.event_time
        latency = (response_time - request_time) * 1000.0 if request_time is not None and response_time is not None \
            else None  # fmt: skip
        window = self.windows.get(key)
        if window is not None:
            window.add_outcome(now, error=error, latency_ms=latency)
        self.joined += 1

    def _settle(self, event_id: str, entry: _Pending, *, reason: str) -> None:
        """An id whose partner never came."""
        self.expired[f"{entry.kind}_{reason}"] += 1
        window = self.windows.get(entry.key)
        if window is not None and entry.kind == "request" and window.responses:
            window.add_outcome(entry.received, error=True, latency_ms=None)
            self.changed.add(entry.key)

    def expire(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            while self.pending:
                event_id, entry = next(iter(self.pending.items()))
                if now - entry.received < self.limits.ttl:
                    break
                del self.pending[event_id]
                self._settle(event_id, entry, reason="timeout")

    # -- windows -------------------------------------------------------------------------

    def _pool(self, key: WindowKey) -> tuple[OrderedDict[WindowKey, None], int]:
        if key.service in self.models:
            return self._known, self.limits.max_windows
        return self._unknown, self.limits.unknown_windows

    def _window(self, key: WindowKey, names: list[str] | None, now: float) -> Window:
        window = self.windows.get(key)
        pool, bound = self._pool(key)
        if window is None:
            if bound <= 0:
                raise MalformedEvent("unknown_model", f"the monitor is not configured for {key.service!r}: "
                                                      "give it that model's config or --reference")  # fmt: skip
            model = self.models.get(key.service)
            features = list(model.features) if model and model.features else (names or [])
            window = Window(key, features, self.limits.window, first_seen=now)
            if pool is self._known:
                same = [k for k in pool if k.service == key.service]
                if len(same) >= self.limits.revisions:
                    self.drop_window(same[0])
            while len(pool) >= bound:
                self.drop_window(next(iter(pool)))
            self.windows[key] = window
            self.dropped.discard(key)
        elif names and not window.features:
            # First seen through a response: the request now names the features.
            self.windows[key] = window = _with_features(window, names, self.limits.window)
        pool[key] = None
        pool.move_to_end(key)
        return window

    def add_window(self, window: Window) -> None:
        """A window restored from a checkpoint (within the pools' bounds, most recent last)."""
        with self.lock:
            pool, bound = self._pool(window.key)
            if bound <= 0:
                return
            while len(pool) >= bound:
                self.drop_window(next(iter(pool)))
            self.windows[window.key] = window
            pool[window.key] = None

    def drop_window(self, key: WindowKey) -> None:
        with self.lock:
            self.windows.pop(key, None)
            self._known.pop(key, None)
            self._unknown.pop(key, None)
            self.changed.discard(key)
            self.dropped.add(key)

    def _remember(self, event_id: str, key: WindowKey, predictions: np.ndarray) -> None:
        if predictions.size > self.limits.prediction_rows:
            return  # a batch this large is not labelled row by row; keeping it would let one event fill memory
        # One row per request is the usual case: a float takes a fraction of an array's memory.
        stored: np.ndarray | float = float(predictions[0]) if predictions.size == 1 else predictions.copy()
        old = self.predictions.pop(event_id, None)
        if old is not None:
            self.prediction_bytes -= _cost(old[1])
        self.predictions[event_id] = (key, stored)
        self.prediction_bytes += _cost(stored)
        while len(self.predictions) > self.limits.predictions or self.prediction_bytes > self.limits.prediction_bytes:
            _, (_, dropped) = self.predictions.popitem(last=False)
            self.prediction_bytes -= _cost(dropped)

    # -- delayed ground truth ------------------------------------------------------------

    def add_truth(self, event_id: str, truth: list[float], value: float | None, now: float | None = None) -> bool:
        """Labels (and a business outcome value) for a request answered earlier; False if the id is unknown."""
        joined, _ = self.add_truths([(event_id, truth, value)], now)
        return bool(joined)

    def add_truths(self, items: list[tuple[str, list[float], float | None]],
                   now: float | None = None) -> tuple[list[str], int]:  # fmt: skip
        """Labels for several requests, journaled as one record; the ids joined and the journal position.

        ``ValueError`` (nothing applied) when an item's label count does not match its predictions.
        """
        now = time.time() if now is None else now
        with self.lock:
            for event_id, truth, _ in items:
                found = self.predictions.get(event_id)
                if found is not None and np.asarray(truth).size != np.atleast_1d(found[1]).size:
                    raise ValueError(f"{np.asarray(truth).size} labels for {np.atleast_1d(found[1]).size} "
                                     f"predictions of request {event_id}")  # fmt: skip
            joined = [event_id for event_id, truth, value in items if self._truth(event_id, truth, value, now)]
            position = 0
            if joined and self.journal is not None:
                done = set(joined)
                kept = [item for item in items if item[0] in done]
                position = self.journal.append(encode_labels(now, kept))
        return joined, position

    def _truth(self, event_id: str, truth: list[float], value: float | None, now: float) -> bool:
        found = self.predictions.get(event_id)
        if found is None:
            return False
        key, stored = found
        predictions = np.atleast_1d(np.asarray(stored, dtype=np.float64))
        window = self.windows.get(key)
        if window is None:
            return False
        truths = np.asarray(truth, dtype=np.float64).reshape(-1)
        if truths.size != predictions.size:
            return False
        rows = np.column_stack([np.full(truths.size, now), predictions, truths,
                                np.full(truths.size, np.nan if value is None else value)])  # fmt: skip
        window.quality.add(rows)
        del self.predictions[event_id]  # a label counts once
        self.prediction_bytes -= _cost(stored)
        self.changed.add(key)
        return True

    # -- the join state in a checkpoint ----------------------------------------------------

    def join_snapshot(self) -> tuple[list[tuple[str, _Pending]], list[tuple[str, tuple[WindowKey, Any]]]]:
        """The join maps' entries, copied (entries are never mutated in place): cheap enough under the lock."""
        with self.lock:
            return list(self.pending.items()), list(self.predictions.items())

    def join_state(self, snapshot: tuple[list[Any], list[Any]] | None = None) -> dict[str, Any]:
        """Unanswered ids and kept predictions as plain data: the rest of a checkpoint."""
        pending, predictions = snapshot if snapshot is not None else self.join_snapshot()
        return {
            "pending": [[i, p.kind, list(p.key), p.event_time, p.received] for i, p in pending],
            "predictions": [[i, list(k), v if isinstance(v, float) else v.tolist()] for i, (k, v) in predictions],
        }

    def restore_join_state(self, state: Mapping[str, Any]) -> None:
        with self.lock:
            for event_id, kind, key, event_time, received in state.get("pending") or []:
                self.pending[event_id] = _Pending(kind, WindowKey(*key), event_time, received)
            for event_id, key, value in state.get("predictions") or []:
                stored = value if isinstance(value, float) else np.asarray(value, dtype=np.float64)
                self.predictions[event_id] = (WindowKey(*key), stored)
                self.prediction_bytes += _cost(stored)


def _cost(stored: np.ndarray | float) -> int:
    return _ENTRY_BYTES + (int(stored.nbytes) if isinstance(stored, np.ndarray) else 0)


def _with_features(window: Window, names: list[str], capacity: int) -> Window:
    fresh = Window(window.key, names, capacity, endpoint=window.endpoint, first_seen=window.first_seen)
    for name in ("requests", "responses", "errors", "samples", "confidence_counts", "confidence_sum",
                 "confidences", "latencies", "outcomes", "quality"):  # fmt: skip
        setattr(fresh, name, getattr(window, name))
    return fresh
