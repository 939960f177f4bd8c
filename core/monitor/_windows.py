"""Bounded windows of what a model revision saw and answered (numpy ring buffers).

One ``Window`` per (namespace, InferenceService, component, revision) keeps the last
``capacity`` feature rows, confidences, latencies, outcomes and labelled results:
memory is fixed when the window is created, whatever the traffic. Counters
(requests, errors, the confidence histogram) run since the window was created, as
Prometheus counters should.
"""

from __future__ import annotations

import bisect
import io
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = ["CONFIDENCE_BUCKETS", "Ring", "Window", "WindowKey", "pack_arrays"]

# Upper bounds of the confidence histogram buckets (Prometheus `le`), +Inf implied.
CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class WindowKey(NamedTuple):
    namespace: str
    service: str
    component: str
    revision: str

    def label(self) -> str:
        return f"{self.namespace}/{self.service}/{self.component}/{self.revision}"


class Ring:
    """The last ``capacity`` rows of a fixed width, oldest first on read.

    Memory follows what was received: the buffer starts small and doubles up to
    ``capacity`` (it cannot wrap before it is full size, so ``next == size`` until then).
    """

    INITIAL = 64

    def __init__(self, capacity: int, width: int = 1) -> None:
        self._capacity = int(capacity)
        self.data = np.full((min(self._capacity, self.INITIAL), width), np.nan)
        self.next = 0  # where the next row goes
        self.size = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def _reserve(self, rows: int) -> None:
        allocated = self.data.shape[0]
        if allocated >= self._capacity or self.size + rows <= allocated:
            return
        grown = np.full((min(self._capacity, max(self.size + rows, 2 * allocated)), self.data.shape[1]), np.nan)
        grown[: self.size] = self.data[: self.size]
        self.data = grown

    def add_row(self, *values: float) -> None:
        if self.next >= self.data.shape[0]:
            self._reserve(1)
        self.data[self.next] = values
        self.next = (self.next + 1) % self._capacity
        if self.size < self._capacity:
            self.size += 1

    def add(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.data.shape[1])
        self._reserve(min(rows.shape[0], self._capacity))
        if rows.shape[0] == 1:
            self.data[self.next] = rows[0]
            self.next = (self.next + 1) % self._capacity
            self.size = min(self.size + 1, self._capacity)
            return
        if rows.shape[0] >= self.capacity:  # only the newest fit
            self.data[:] = rows[-self.capacity:]
            self.next, self.size = 0, self.capacity
            return
        end = self.next + rows.shape[0]
        if end <= self.capacity:
            self.data[self.next:end] = rows
        else:
            split = self.capacity - self.next
            self.data[self.next:] = rows[:split]
            self.data[: end - self.capacity] = rows[split:]
        self.next = end % self.capacity
        self.size = min(self.capacity, self.size + rows.shape[0])

    def restore(self, data: np.ndarray, next_row: int, size: int) -> bool:
        """Put back a saved buffer (any allocated length up to capacity); False if it does not fit."""
        if data.ndim != 2 or data.shape[1] != self.data.shape[1] or not size <= data.shape[0] <= self._capacity:
            return False
        if data.shape[0] < self._capacity and next_row != size:
            return False
        self.data = np.array(data, dtype=np.float64)
        self.next, self.size = int(next_row) % self._capacity, int(size)
        return True

    def values(self) -> np.ndarray:
        if self.size < self.capacity:
            return self.data[: self.size].copy()
        return np.concatenate([self.data[self.next:], self.data[: self.next]])


@dataclass
class Window:
    key: WindowKey
    features: list[str]
    capacity: int
    endpoint: str = "default"
    first_seen: float = 0.0
    last_seen: float = 0.0
    requests: int = 0
    responses: int = 0
    errors: int = 0  # requests whose response never came, or whose response reports an error
    samples: int = 0  # feature rows seen
    confidence_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(CONFIDENCE_BUCKETS) + 1, np.int64))
    confidence_sum: float = 0.0
    latency_count: int = 0  # latencies observed since the window was created (the summary's _count)
    latency_sum_ms: float = 0.0  # and their sum (its _sum)
    rows: Ring = field(init=False)
    confidences: Ring = field(init=False)
    latencies: Ring = field(init=False)  # (time, milliseconds)
    outcomes: Ring = field(init=False)  # (time, 1.0 error / 0.0 ok)
    quality: Ring = field(init=False)  # (time, prediction, truth, business value)
    drift: dict[str, Any] | None = None  # the last drift check's report, as a dict
    history: list[dict[str, Any]] = field(default_factory=list)  # recent checks, for the dashboard
    quality_metrics: dict[str, float] = field(default_factory=dict)  # from delayed ground truth, last check

    def __post_init__(self) -> None:
        self.rows = Ring(self.capacity, max(1, len(self.features)))
        self.confidences = Ring(self.capacity)
        self.latencies = Ring(self.capacity, 2)
        self.outcomes = Ring(self.capacity, 2)
        self.quality = Ring(self.capacity, 4)

    # -- recording ---------------------------------------------------------------------

    def add_rows(self, matrix: np.ndarray) -> None:
        if matrix.shape[1] == self.rows.data.shape[1]:
            self.rows.add(matrix)
        self.samples += int(matrix.shape[0])

    def add_confidences(self, values: np.ndarray) -> None:
        if values.size == 1:  # one prediction per request is the usual case: no array work
            value = float(values[0])
            if math.isfinite(value):
                self.confidences.add_row(value)
                self.confidence_counts[bisect.bisect_left(CONFIDENCE_BUCKETS, value)] += 1
                self.confidence_sum += value
            return
        present = values[np.isfinite(values)]
        if present.size:
            self.confidences.add(present)
            bucket = np.searchsorted(np.asarray(CONFIDENCE_BUCKETS), present, side="left")
            self.confidence_counts += np.bincount(bucket, minlength=self.confidence_counts.size)
            self.confidence_sum += float(present.sum())

    def add_outcome(self, when: float, *, error: bool, latency_ms: float | None) -> None:
        self.outcomes.add_row(when, 1.0 if error else 0.0)
        if error:
            self.errors += 1
        if latency_ms is not None and math.isfinite(latency_ms) and latency_ms >= 0:
            self.latencies.add_row(when, latency_ms)
            self.latency_count += 1
            self.latency_sum_ms += latency_ms

    # -- reading -----------------------------------------------------------------------

    def columns(self) -> dict[str, np.ndarray]:
        matrix = self.rows.values()
        return {name: matrix[:, i] for i, name in enumerate(self.features)}

    def latency_percentiles(self) -> dict[str, float]:
        values = self.latencies.values()[:, 1]
        if not values.size:
            return {}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}

    def error_rate(self) -> float | None:
        outcomes = self.outcomes.values()[:, 1]
        return float(outcomes.mean()) if outcomes.size else None

    # -- persistence -------------------------------------------------------------------

    _RINGS = ("rows", "confidences", "latencies", "outcomes", "quality")
    _SCALARS = ("endpoint", "first_seen", "last_seen", "requests", "responses", "errors", "samples",
                "confidence_sum", "latency_count", "latency_sum_ms")  # fmt: skip

    @property
    def nbytes(self) -> int:
        """Bytes held by the ring buffers: what a window costs, by what it was sent."""
        return sum(getattr(self, name).nbytes for name in self._RINGS) + int(self.confidence_counts.nbytes)

    def meta_state(self) -> dict[str, Any]:
        """The small part of a checkpoint (JSON): counters, the last checks, where each ring stands."""
        meta = {name: getattr(self, name) for name in self._SCALARS}
        meta.update(key=list(self.key), features=self.features, capacity=self.capacity, drift=self.drift,
                    history=list(self.history), quality_metrics=dict(self.quality_metrics),
                    rings={name: [getattr(self, name).next, getattr(self, name).size] for name in self._RINGS})  # fmt: skip
        return meta

    def array_state(self) -> dict[str, np.ndarray]:
        """Copies of the buffers (fast, under the ingest lock); ``pack_arrays`` compresses them outside it."""
        arrays = {name: getattr(self, name).data.copy() for name in self._RINGS}
        arrays["confidence_counts"] = self.confidence_counts.copy()
        return arrays

    def to_state(self) -> tuple[dict[str, Any], bytes]:
        return self.meta_state(), pack_arrays(self.array_state())

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: bytes) -> Window:
        window = cls(WindowKey(*meta["key"]), list(meta["features"]), int(meta["capacity"]))
        for name in cls._SCALARS:  # a checkpoint from before a scalar existed keeps its default
            setattr(window, name, meta.get(name, getattr(window, name)))
        window.drift, window.history = meta.get("drift"), list(meta.get("history") or [])
        window.quality_metrics = dict(meta.get("quality_metrics") or {})
        with np.load(io.BytesIO(arrays)) as stored:
            window.confidence_counts = stored["confidence_counts"].astype(np.int64)
            for name in cls._RINGS:
                ring: Ring = getattr(window, name)
                ring.restore(stored[name], *meta["rings"][name])
        return window


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()
