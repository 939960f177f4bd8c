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
from typing import TYPE_CHECKING, Any

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


def _window_metrics(f: _Families, window: Window) -> None:
    labels = _window_values(window)
    f.requests.add_metric(labels, window.requests)
    f.errors.add_metric(labels, window.errors)
    f.samples.add_metric(labels, window.samples)
    ratio = window.error_rate()
    if ratio is not None:
        f.error_ratio.add_metric(labels, ratio)
    named = dict(zip(WINDOW_LABELS, labels))
    for name, milliseconds in window.latency_percentiles().items():
        f.latency.add_sample(f.latency.name, {**named, "quantile": QUANTILES[name]}, milliseconds / 1000.0)
    f.latency.add_metric(labels, window.latency_count, window.latency_sum_ms / 1000.0)
    cumulative, buckets = 0, []
    for bound, count in zip([*CONFIDENCE_BUCKETS, math.inf], window.confidence_counts.tolist()):
        cumulative += count
        buckets.append((_bound(bound), cumulative))
    f.confidence.add_metric(labels, buckets, window.confidence_sum)
    report: dict[str, Any] = window.drift or {}
    for feature in report.get("features") or []:
        tags = [*labels, str(feature.get("name")), str(feature.get("test"))]
        for family, field in ((f.drift_statistic, "statistic"), (f.drift_p_value, "adjusted_p_value"), (f.drift_psi, "psi")):
            value = feature.get(field)
            if field == "adjusted_p_value" and value is None:
                value = feature.get("p_value")
            if isinstance(value, (int, float)):
                family.add_metric(tags, float(value))
        f.drift_detected.add_metric(tags, 1.0 if feature.get("drifted") else 0.0)
    if window.quality.size:
        f.labelled.add_metric(labels, window.quality.size)
    for metric, value in window.quality_metrics.items():
        if isinstance(value, (int, float)):
            f.quality.add_metric([*labels, metric], float(value))


def collect(ingestor: Ingestor, outbox: Mapping[str, int] | None = None, journal_bytes: int | None = None) -> list[Metric]:
    """Every family of one scrape, read under the ingest lock (pure apart from the lock)."""
    f = _Families()
    with ingestor.lock:
        for kind, n in sorted(ingestor.events.items()):
            f.events.add_metric([kind], n)
        for reason, n in sorted(ingestor.malformed.items()):
            f.malformed.add_metric([reason], n)
        for reason, n in sorted(ingestor.refused.items()):
            f.refused.add_metric([reason], n)
        f.joins.add_metric([], ingestor.joined)
        for what, n in sorted(ingestor.expired.items()):
            f.unjoined.add_metric(what.split("_", 1), n)
        f.pending.add_metric([], len(ingestor.pending))
        f.windows.add_metric([], len(ingestor.windows))
        f.state_bytes.add_metric([], ingestor.state_bytes())
        for window in ingestor.windows.values():
            _window_metrics(f, window)
    for state, n in sorted((outbox or {}).items()):
        f.alerts.add_metric([state], n)
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
