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
    max_windows: int = 256  # least recently used windows beyond this are dropped
    pending: int = 100_000  # unanswered ids kept for the join
    ttl: float = 60.0  # seconds an id waits for its partner
    predictions: int = 100_000  # answered ids kept for labels posted later


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
        self.lock = threading.RLock()

    # -- the entry point -----------------------------------------------------------------

    def ingest(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Event:
        """Take one binary-mode CloudEvent; ``MalformedEvent`` (counted) if it cannot be used."""
        now = time.time() if now is None else now
        try:
            event = parse_event(headers, body)
            with self.lock:
                self._take(event, now)
        except MalformedEvent as exc:
            with self.lock:
                self.malformed[exc.reason] += 1
            raise
        return event

    def _take(self, event: Event, now: float) -> None:
        model = self.models.get(event.service) or _UNKNOWN
        key = WindowKey(event.namespace, event.service, event.component, event.revision)
        failed = False
        if event.kind == "request":
            names, matrix = decode_request(event.payload, model.features or None)
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

    def _window(self, key: WindowKey, names: list[str] | None, now: float) -> Window:
        window = self.windows.get(key)
        if window is None:
            model = self.models.get(key.service)
            features = list(model.features) if model and model.features else (names or [])
            window = Window(key, features, self.limits.window, first_seen=now)
            self.windows[key] = window
            while len(self.windows) > self.limits.max_windows:
                self.windows.popitem(last=False)
        elif names and not window.features:
            # First seen through a response: the request now names the features.
            self.windows[key] = window = _with_features(window, names, self.limits.window)
        self.windows.move_to_end(key)
        return window

    def _remember(self, event_id: str, key: WindowKey, predictions: np.ndarray) -> None:
        # One row per request is the usual case: a float takes a fraction of an array's memory.
        self.predictions[event_id] = (key, float(predictions[0]) if predictions.size == 1 else predictions)
        self.predictions.move_to_end(event_id)
        while len(self.predictions) > self.limits.predictions:
            self.predictions.popitem(last=False)

    # -- delayed ground truth ------------------------------------------------------------

    def add_truth(self, event_id: str, truth: list[float], value: float | None, now: float | None = None) -> bool:
        """Labels (and a business outcome value) for a request answered earlier; False if the id is unknown."""
        now = time.time() if now is None else now
        with self.lock:
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
                raise ValueError(f"{truths.size} labels for {predictions.size} predictions of request {event_id}")
            rows = np.column_stack([np.full(truths.size, now), predictions, truths,
                                    np.full(truths.size, np.nan if value is None else value)])  # fmt: skip
            window.quality.add(rows)
            del self.predictions[event_id]  # a label counts once
            return True


def _with_features(window: Window, names: list[str], capacity: int) -> Window:
    fresh = Window(window.key, names, capacity, endpoint=window.endpoint, first_seen=window.first_seen)
    for name in ("requests", "responses", "errors", "samples", "confidence_counts", "confidence_sum",
                 "confidences", "latencies", "outcomes", "quality"):  # fmt: skip
        setattr(fresh, name, getattr(window, name))
    return fresh
