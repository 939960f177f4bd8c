"""Prometheus text exposition (format 0.0.4) of the monitor's state, written by hand.

Rendered at scrape time from the windows, so ingestion pays nothing per metric.
Percentiles and rates are over each window (gauges); counts run since the window
was created (counters, and the confidence histogram).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._windows import CONFIDENCE_BUCKETS, Window

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "mlpipex_monitor_"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = PREFIX + name, kind, help_text
        self.lines: list[str] = []

    def add(self, labels: Mapping[str, str], value: float, suffix: str = "") -> None:
        self.lines.append(f"{self.name}{suffix}{_labels(labels)} {_number(value)}")

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        yield from self.lines


def _window_labels(window: Window) -> dict[str, str]:
    key = window.key
    return {"namespace": key.namespace, "service": key.service, "component": key.component,
            "revision": key.revision, "endpoint": window.endpoint}  # fmt: skip


def render_metrics(ingestor: Ingestor, outbox: Mapping[str, int] | None = None, journal_bytes: int | None = None) -> str:
    f = {name: _Family(name, kind, text) for name, kind, text in (
        ("events_total", "counter", "CloudEvents accepted, by type."),
        ("malformed_events_total", "counter", "CloudEvents rejected with 400 (413 for size), by reason."),
        ("refused_requests_total", "counter", "Requests refused before reading them (no or wrong token, busy)."),
        ("joins_total", "counter", "Requests joined with their response by ce-id."),
        ("unjoined_total", "counter", "Events whose partner never came (timeout or overflow), by kind and reason."),
        ("pending_joins", "gauge", "Events waiting for their partner."),
        ("windows", "gauge", "Windows kept (namespace, service, component, revision)."),
        ("requests_total", "counter", "Requests logged per window."),
        ("errors_total", "counter", "Requests that failed (no response logged, or an error payload)."),
        ("samples_total", "counter", "Feature rows seen per window."),
        ("error_rate", "gauge", "Share of failed requests among the window's recent outcomes."),
        ("latency_milliseconds", "gauge", "Latency percentiles over the window (request to response event time)."),
        ("confidence", "histogram", "Top predicted probability per prediction."),
        ("drift_statistic", "gauge", "Drift test statistic per feature at the last check (KS D or PSI)."),
        ("drift_p_value", "gauge", "Drift test p-value per feature at the last check (corrected)."),
        ("drift_psi", "gauge", "Population stability index per feature at the last check."),
        ("drift_detected", "gauge", "1 when the last check found significant drift in the feature."),
        ("quality", "gauge", "Model quality from delayed ground truth over the window, by metric."),
        ("labels_total", "gauge", "Labelled predictions in the window."),
        ("alerts", "gauge", "Alerts in the durable outbox, by state."),
        ("state_bytes", "gauge", "Bytes held for windows and kept predictions (grows with what was sent, bounded)."),
        ("journal_bytes", "gauge", "Journal bytes appended since the last checkpoint (what a restart replays)."),
    )}  # fmt: skip
    with ingestor.lock:
        for kind, n in sorted(ingestor.events.items()):
            f["events_total"].add({"type": kind}, n)
        for reason, n in sorted(ingestor.malformed.items()):
            f["malformed_events_total"].add({"reason": reason}, n)
        for reason, n in sorted(ingestor.refused.items()):
            f["refused_requests_total"].add({"reason": reason}, n)
        f["joins_total"].add({}, ingestor.joined)
        for what, n in sorted(ingestor.expired.items()):
            kind, reason = what.split("_", 1)
            f["unjoined_total"].add({"kind": kind, "reason": reason}, n)
        f["pending_joins"].add({}, len(ingestor.pending))
        f["windows"].add({}, len(ingestor.windows))
        f["state_bytes"].add({}, ingestor.state_bytes())
        for window in ingestor.windows.values():
            _window_metrics(f, window)
    for state, n in sorted((outbox or {}).items()):
        f["alerts"].add({"state": state}, n)
    if journal_bytes is not None:
        f["journal_bytes"].add({}, journal_bytes)
    lines = [line for family in f.values() for line in family.render()]
    return "\n".join(lines) + "\n"


def _window_metrics(f: dict[str, _Family], window: Window) -> None:
    labels = _window_labels(window)
    f["requests_total"].add(labels, window.requests)
    f["errors_total"].add(labels, window.errors)
    f["samples_total"].add(labels, window.samples)
    rate = window.error_rate()
    if rate is not None:
        f["error_rate"].add(labels, rate)
    for name, value in window.latency_percentiles().items():
        f["latency_milliseconds"].add({**labels, "quantile": {"p50": "0.5", "p95": "0.95", "p99": "0.99"}[name]}, value)
    cumulative = 0
    for bound, count in zip([*CONFIDENCE_BUCKETS, math.inf], window.confidence_counts.tolist()):
        cumulative += count
        f["confidence"].add({**labels, "le": _number(bound)}, cumulative, "_bucket")
    f["confidence"].add(labels, window.confidence_sum, "_sum")
    f["confidence"].add(labels, cumulative, "_count")
    report: dict[str, Any] = window.drift or {}
    for feature in report.get("features") or []:
        tags = {**labels, "feature": str(feature.get("name")), "test": str(feature.get("test"))}
        for family, field in (("drift_statistic", "statistic"), ("drift_p_value", "adjusted_p_value"),
                              ("drift_psi", "psi")):  # fmt: skip
            value = feature.get(field)
            if field == "adjusted_p_value" and value is None:
                value = feature.get("p_value")
            if isinstance(value, (int, float)):
                f[family].add(tags, float(value))
        f["drift_detected"].add(tags, 1.0 if feature.get("drifted") else 0.0)
    quality = window.quality.size
    if quality:
        f["labels_total"].add(labels, quality)
    for metric, value in window.quality_metrics.items():
        if isinstance(value, (int, float)):
            f["quality"].add({**labels, "metric": metric}, float(value))
