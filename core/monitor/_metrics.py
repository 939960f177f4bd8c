"""The monitor's Prometheus metrics: a ``prometheus_client`` collector over the windows.

Collected at scrape time from the windows, so ingestion pays nothing per metric.
Each monitor app has its own ``CollectorRegistry`` (``metrics_registry``), never
the process-global one: two monitors in one process (tests, an embedding app)
must not see each other's series. Names follow Prometheus' conventions: base
units (seconds), ``_total`` on counters only, quantiles only in a summary. The
latency summary's quantiles are over the window's recent requests (like a
summary's sliding window); its ``_sum``/``_count``, and every counter, run since
the window was created.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._windows import CONFIDENCE_BUCKETS, Window

if TYPE_CHECKING:  # prometheus-client comes with the `monitor` extra: importing mlpipex.monitor must not need it
    from prometheus_client.core import Metric
    from prometheus_client.registry import CollectorRegistry

__all__ = ["CONTENT_TYPE", "MonitorCollector", "encode_metrics", "metrics_registry", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what every Prometheus (2.x and 3.x) parses
PREFIX = "mlpipex_monitor_"
WINDOW_LABELS = ("namespace", "service", "component", "revision", "endpoint")
QUANTILES = {"p50": "0.5", "p95": "0.95", "p99": "0.99"}


def _window_values(window: Window) -> list[str]:
    key = window.key
    return [key.namespace, key.service, key.component, key.revision, window.endpoint]


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


class _Families:
    """The families of one scrape, created empty so that every scrape lists them all (with HELP and TYPE)."""

    def __init__(self) -> None:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
            SummaryMetricFamily,
        )

        w = WINDOW_LABELS
        feature = (*w, "feature", "test")
        self.events = CounterMetricFamily(PREFIX + "events", "CloudEvents accepted, by type.", labels=["type"])
        self.malformed = CounterMetricFamily(PREFIX + "malformed_events", "CloudEvents rejected with 400 (413 for size), by reason.", labels=["reason"])
        self.refused = CounterMetricFamily(PREFIX + "refused_requests", "Requests refused before reading them (no or wrong token, busy).", labels=["reason"])
        self.joins = CounterMetricFamily(PREFIX + "joins", "Requests joined with their response by ce-id.")
        self.unjoined = CounterMetricFamily(PREFIX + "unjoined", "Events whose partner never came (timeout or overflow), by kind and reason.", labels=["kind", "reason"])
        self.pending = GaugeMetricFamily(PREFIX + "pending_joins", "Events waiting for their partner.")
        self.windows = GaugeMetricFamily(PREFIX + "windows", "Windows kept (namespace, service, component, revision).")
        self.requests = CounterMetricFamily(PREFIX + "requests", "Requests logged per window.", labels=w)
        self.errors = CounterMetricFamily(PREFIX + "errors", "Requests that failed (no response logged, or an error payload).", labels=w)
        self.samples = CounterMetricFamily(PREFIX + "samples", "Feature rows seen per window.", labels=w)
        self.error_ratio = GaugeMetricFamily(PREFIX + "error_ratio", "Share (0-1) of failed requests among the window's recent outcomes.", labels=w)
        self.latency = SummaryMetricFamily(PREFIX + "latency_seconds", "Request-to-response latency (event times): quantiles over the window's recent requests.", labels=w)
        self.confidence = HistogramMetricFamily(PREFIX + "confidence", "Top predicted probability per prediction.", labels=w)
        self.drift_statistic = GaugeMetricFamily(PREFIX + "drift_statistic", "Drift test statistic per feature at the last check (KS D or PSI).", labels=feature)
        self.drift_p_value = GaugeMetricFamily(PREFIX + "drift_p_value", "Drift test p-value per feature at the last check (corrected).", labels=feature)
        self.drift_psi = GaugeMetricFamily(PREFIX + "drift_psi", "Population stability index per feature at the last check.", labels=feature)
        self.drift_detected = GaugeMetricFamily(PREFIX + "drift_detected", "1 when the last check found significant drift in the feature.", labels=feature)
        self.quality = GaugeMetricFamily(PREFIX + "quality", "Model quality from delayed ground truth over the window, by metric.", labels=[*w, "metric"])
        self.labelled = GaugeMetricFamily(PREFIX + "labelled_predictions", "Predictions in the window that have their ground-truth label.", labels=w)
        self.alerts = GaugeMetricFamily(PREFIX + "alerts", "Alerts in the durable outbox, by state.", labels=["state"])
        self.state_bytes = GaugeMetricFamily(PREFIX + "state_bytes", "Bytes held for windows and kept predictions (grows with what was sent, bounded).")
        self.journal_bytes = GaugeMetricFamily(PREFIX + "journal_bytes", "Journal bytes appended since the last checkpoint (what a restart replays).")  # fmt: skip

    def all(self) -> list[Metric]:
        return list(vars(self).values())


class _Numbers(NamedTuple):
    """What one window's series need, copied under the ingest lock; the families are built after it is released."""

    labels: list[str]
    requests: int
    errors: int
    samples: int
    error_ratio: float | None
    percentiles: dict[str, float]
    latency_count: int
    latency_sum_ms: float
    confidence_counts: list[int]
    confidence_sum: float
    drift_features: list[dict[str, Any]]  # the last report's, replaced (never changed) by the next check
    labelled: int
    quality: dict[str, float]


def _numbers(window: Window) -> _Numbers:
    report: dict[str, Any] = window.drift or {}
    return _Numbers(_window_values(window), window.requests, window.errors, window.samples, window.error_rate(),
                    window.latency_percentiles(), window.latency_count, window.latency_sum_ms,
                    window.confidence_counts.tolist(), window.confidence_sum, list(report.get("features") or []),
                    window.quality.size, dict(window.quality_metrics))  # fmt: skip


def _window_metrics(f: _Families, n: _Numbers) -> None:
    labels = n.labels
    f.requests.add_metric(labels, n.requests)
    f.errors.add_metric(labels, n.errors)
    f.samples.add_metric(labels, n.samples)
    if n.error_ratio is not None:
        f.error_ratio.add_metric(labels, n.error_ratio)
    named = dict(zip(WINDOW_LABELS, labels))
    for name, milliseconds in n.percentiles.items():
        f.latency.add_sample(f.latency.name, {**named, "quantile": QUANTILES[name]}, milliseconds / 1000.0)
    f.latency.add_metric(labels, n.latency_count, n.latency_sum_ms / 1000.0)
    cumulative, buckets = 0, []
    for bound, count in zip([*CONFIDENCE_BUCKETS, math.inf], n.confidence_counts):
        cumulative += count
        buckets.append((_bound(bound), cumulative))
    f.confidence.add_metric(labels, buckets, n.confidence_sum)
    for feature in n.drift_features:
        tags = [*labels, str(feature.get("name")), str(feature.get("test"))]
        for family, field in ((f.drift_statistic, "statistic"), (f.drift_p_value, "adjusted_p_value"), (f.drift_psi, "psi")):
            value = feature.get(field)
            if field == "adjusted_p_value" and value is None:
                value = feature.get("p_value")
            if isinstance(value, (int, float)):
                family.add_metric(tags, float(value))
        f.drift_detected.add_metric(tags, 1.0 if feature.get("drifted") else 0.0)
    if n.labelled:
        f.labelled.add_metric(labels, n.labelled)
    for metric, value in n.quality.items():
        if isinstance(value, (int, float)):
            f.quality.add_metric([*labels, metric], float(value))


def collect(ingestor: Ingestor, outbox: Mapping[str, int] | None = None, journal_bytes: int | None = None) -> list[Metric]:
    """Every family of one scrape. Only copying the numbers holds the ingest lock: ingestion waits for that alone."""
    with ingestor.lock:
        counters = (sorted(ingestor.events.items()), sorted(ingestor.malformed.items()), sorted(ingestor.refused.items()),
                    ingestor.joined, sorted(ingestor.expired.items()), len(ingestor.pending), len(ingestor.windows),
                    ingestor.state_bytes())  # fmt: skip
        windows = [_numbers(window) for window in ingestor.windows.values()]
    events, malformed, refused, joined, expired, pending, count, state_bytes = counters
    f = _Families()
    for kind, value in events:
        f.events.add_metric([kind], value)
    for reason, value in malformed:
        f.malformed.add_metric([reason], value)
    for reason, value in refused:
        f.refused.add_metric([reason], value)
    f.joins.add_metric([], joined)
    for what, value in expired:
        f.unjoined.add_metric(what.split("_", 1), value)
    f.pending.add_metric([], pending)
    f.windows.add_metric([], count)
    f.state_bytes.add_metric([], state_bytes)
    for numbers in windows:
        _window_metrics(f, numbers)
    for state, value in sorted((outbox or {}).items()):
        f.alerts.add_metric([state], value)
    if journal_bytes is not None:
        f.journal_bytes.add_metric([], journal_bytes)
    return f.all()


class MonitorCollector:
    """A custom collector (prometheus-client's Collector protocol): series built from the windows at each scrape."""

    def __init__(self, ingestor: Ingestor, outbox: Callable[[], Mapping[str, int]] | None = None,
                 journal_bytes: Callable[[], int | None] | None = None) -> None:  # fmt: skip
        self.ingestor, self.outbox, self.journal_bytes = ingestor, outbox, journal_bytes

    def collect(self) -> Iterator[Metric]:
        yield from collect(self.ingestor, self.outbox() if self.outbox else None,
                           self.journal_bytes() if self.journal_bytes else None)  # fmt: skip

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not scrape (the ingestor may not be ready); names are fixed anyway


def metrics_registry(collector: MonitorCollector) -> CollectorRegistry:
    """A registry of its own for one monitor (never ``prometheus_client.REGISTRY``)."""
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def encode_metrics(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition Prometheus asked for: OpenMetrics when its Accept header says so, else text 0.0.4."""
    from prometheus_client.exposition import choose_encoder, generate_latest

    encoder, content_type = choose_encoder(accept or "")
    if not content_type.startswith("application/openmetrics-text"):
        return generate_latest(registry), CONTENT_TYPE
    return encoder(registry), content_type


def render_metrics(ingestor: Ingestor, outbox: Mapping[str, int] | None = None, journal_bytes: int | None = None) -> str:
    """The text exposition (0.0.4) of one ingestor, without a service around it."""
    from prometheus_client.exposition import generate_latest

    registry = metrics_registry(MonitorCollector(ingestor, (lambda: outbox or {}), (lambda: journal_bytes)))
    return generate_latest(registry).decode()
