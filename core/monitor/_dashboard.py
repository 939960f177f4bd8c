"""``/dashboard``: one section per model, charts drawn server-side as inline SVG.

Per model (namespace/InferenceService): latency percentiles over time against the
SLA, error rate over time, per-feature drift against its thresholds at the last
check, the confidence histogram, and the deployment history as the monitor saw
it (revisions, their endpoint, first and last event). Pure functions turn the
windows' rings into series; ``render_dashboard`` only assembles the page.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpipex.monitor._svg import Series, bar_chart, line_chart
from mlpipex.monitor._windows import Window

if TYPE_CHECKING:
    from mlpipex.monitor._service import Monitor

__all__ = ["bucket_percentiles", "bucket_rates", "confidence_histogram", "deployment_table", "render_dashboard"]

BUCKETS = 24


def _edges(times: np.ndarray, buckets: int, span: tuple[float, float] | None = None) -> np.ndarray:
    lo, hi = span or (float(times.min()), float(times.max()))
    return np.linspace(lo, hi if hi > lo else lo + 1.0, buckets + 1)


def bucket_percentiles(times: np.ndarray, values: np.ndarray, qs: tuple[float, ...] = (50, 95, 99),
                       buckets: int = BUCKETS, span: tuple[float, float] | None = None,
                       ) -> tuple[list[float], list[list[float | None]]]:  # fmt: skip
    """Bucket centres and, per percentile, its value in each time bucket (None when empty).

    ``span`` fixes the time range, so several revisions share the same buckets.
    """
    if not times.size:
        return [], [[] for _ in qs]
    edges = _edges(times, buckets, span)
    index = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, buckets - 1)
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    out: list[list[float | None]] = [[] for _ in qs]
    for b in range(buckets):
        chunk = values[index == b]
        for i, q in enumerate(qs):
            out[i].append(float(np.percentile(chunk, q)) if chunk.size else None)
    return centres, out


def bucket_rates(times: np.ndarray, flags: np.ndarray, buckets: int = BUCKETS,
                 span: tuple[float, float] | None = None) -> tuple[list[float], list[float | None]]:  # fmt: skip
    """Bucket centres and the mean of 0/1 flags (the error rate) in each time bucket."""
    if not times.size:
        return [], []
    edges = _edges(times, buckets, span)
    index = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, buckets - 1)
    sums = np.bincount(index, weights=flags, minlength=buckets)
    counts = np.bincount(index, minlength=buckets)
    rates = [float(s / c) if c else None for s, c in zip(sums, counts)]
    return ((edges[:-1] + edges[1:]) / 2).tolist(), rates


def confidence_histogram(confidences: np.ndarray, bins: int = 10) -> tuple[list[str], list[float]]:
    counts, edges = np.histogram(confidences[np.isfinite(confidences)], bins=bins, range=(0.0, 1.0))
    return [f"{edges[i]:.1f}" for i in range(bins)], [float(c) for c in counts]


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if seconds else "—"


HISTORY_TTL = 30.0  # seconds a cluster's answer is reused: a dashboard reload must not hammer the API


def _cluster_history(monitor: Monitor, namespace: str, service: str) -> list[dict[str, Any]] | str | None:
    """The rollout history on the InferenceService, an error text, or None without a cluster."""
    source = monitor.settings.deployments
    if source is None:
        return None
    now = time.monotonic()
    cached = monitor.history_cache.get((namespace, service))
    if cached and now - cached[0] < HISTORY_TTL:
        return cached[1]
    try:
        result: list[dict[str, Any]] | str = source(namespace, service)
    except Exception as exc:  # the dashboard still shows what the monitor saw
        result = f"cluster unavailable: {exc}"
    monitor.history_cache[(namespace, service)] = (now, result)
    return result


def deployment_table(history: list[dict[str, Any]] | str | None) -> str:
    """The rollout history recorded on the InferenceService, newest first (pure)."""
    if history is None:
        return ""
    if isinstance(history, str):
        return f'<p class="cluster-error">{html.escape(history)}</p>'
    rows = "".join(
        f"<tr><td>{html.escape(str(e.get('at', '')))}</td><td>{html.escape(str(e.get('action', '')))}</td>"
        f"<td>{html.escape(str(e.get('artifact', ''))[-80:])}</td><td>{html.escape(str(e.get('traffic', '')))}%</td>"
        f"<td>{html.escape(str(e.get('by', '')))}</td><td>{html.escape(str(e.get('pull_request', '')))}</td></tr>"
        for e in reversed(history)
    )  # fmt: skip
    return ('<h3>Deployment history (from the InferenceService)</h3><table class="deployments"><tr><th>at</th>'
            f"<th>action</th><th>artifact</th><th>traffic</th><th>by</th><th>pull request</th></tr>{rows}</table>")  # fmt: skip


def _model_section(service: str, windows: list[Window], model: Any, drift_settings: dict[str, Any],
                   deployments: str = "", button: str = "") -> str:  # fmt: skip
    parts = [f'<section class="model" data-model="{html.escape(service)}"><h2>{html.escape(service)}</h2>{button}']
    latency_series, error_series = [], []
    stamps = np.concatenate([np.concatenate([w.latencies.values()[:, 0], w.outcomes.values()[:, 0]]) for w in windows])
    span = (float(stamps.min()), float(stamps.max())) if stamps.size else None
    for w in windows:
        lat = w.latencies.values()
        centres, (p50, p95, p99) = bucket_percentiles(lat[:, 0], lat[:, 1], span=span)
        short = w.key.revision.removeprefix(f"{w.key.service}-")
        for name, ys in (("p50", p50), ("p95", p95), ("p99", p99)):
            latency_series.append(Series(f"{short} {name}", centres, ys))
        out = w.outcomes.values()
        centres, rates = bucket_rates(out[:, 0], out[:, 1], span=span)
        error_series.append(Series(short, centres, rates))
    regression = getattr(model, "task", "classification") == "regression"
    quality_series = []
    for w in windows:
        labelled = w.quality.values()
        if labelled.shape[0]:
            score = np.abs(labelled[:, 1] - labelled[:, 2]) if regression else (labelled[:, 1] == labelled[:, 2]) * 1.0
            centres, means = bucket_rates(labelled[:, 0], score)
            quality_series.append(Series(w.key.revision.removeprefix(f"{w.key.service}-"), centres, means))
    sla = dict(getattr(model, "sla_ms", {}) or {})
    parts.append(line_chart("Latency percentiles (ms) vs SLA", latency_series,
                            thresholds={f"SLA {k}": v for k, v in sla.items()}, x_label="time", y_min=0))  # fmt: skip
    parts.append(line_chart("Error rate", error_series, x_label="time", y_min=0))
    baseline = dict(getattr(model, "baseline", {}) or {}).get("mae" if regression else "accuracy")
    parts.append(line_chart(f"{'MAE' if regression else 'Accuracy'} from delayed labels", quality_series,
                            thresholds={"offline": baseline} if baseline is not None else None, x_label="label time"))  # fmt: skip
    latest = max(windows, key=lambda w: (w.drift or {}).get("checked_at", 0))
    features = (latest.drift or {}).get("features") or []
    psi_warn = float(drift_settings.get("psi_warn", 0.1))
    psi_alert = float(drift_settings.get("psi_alert", drift_settings.get("psi_threshold", 0.25)))
    alpha = float(drift_settings.get("alpha", 0.05))
    names = [str(f.get("name")) for f in features]
    drifted = [bool(f.get("drifted")) for f in features]
    psi = [float(f["psi"]) if isinstance(f.get("psi"), (int, float)) else math.nan for f in features]
    p_values = [f.get("adjusted_p_value", f.get("p_value")) for f in features]
    evidence = [-math.log10(max(float(p), 1e-300)) if isinstance(p, (int, float)) else math.nan for p in p_values]
    parts.append(bar_chart("Drift: PSI per feature", names, psi, highlight=drifted,
                           thresholds={"warn": psi_warn, "alert": psi_alert}))  # fmt: skip
    parts.append(bar_chart("Drift: −log10 p-value (corrected) per feature", names, evidence, highlight=drifted,
                           thresholds={"alpha": -math.log10(alpha)}))  # fmt: skip
    confidences = np.concatenate([w.confidences.values()[:, 0] for w in windows])
    labels, counts = confidence_histogram(confidences)
    parts.append(bar_chart("Prediction confidence", labels, counts))
    verdict = (latest.drift or {}).get("verdict", "not checked yet")
    parts.append(f'<p class="verdict">Last drift check: <b>{html.escape(str(verdict))}</b> '
                 f'({_time(float((latest.drift or {}).get("checked_at", 0)))})</p>')  # fmt: skip
    rows = "".join(
        f"<tr><td>{html.escape(w.key.revision)}</td><td>{html.escape(w.key.component)}</td>"
        f"<td>{html.escape(w.endpoint)}</td><td>{_time(w.first_seen)}</td><td>{_time(w.last_seen)}</td>"
        f"<td>{w.requests}</td><td>{w.errors}</td>"
        f"<td>{html.escape(', '.join(f'{k} {v:.4g}' for k, v in w.quality_metrics.items()))}</td></tr>"
        for w in sorted(windows, key=lambda w: w.first_seen)
    )  # fmt: skip
    parts.append(deployments)
    parts.append('<h3>Revisions seen</h3><table class="history"><tr><th>revision</th>'
                 "<th>component</th><th>endpoint</th><th>first event</th><th>last event</th><th>requests</th>"
                 f"<th>errors</th><th>quality</th></tr>{rows}</table></section>")  # fmt: skip
    return "".join(parts)


_STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}
section.model{border-top:1px solid #ccc;padding-top:8px;margin-bottom:24px}
.charts svg{margin:6px;vertical-align:top;background:#fff;border:1px solid #eee}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"""


def render_dashboard(monitor: Monitor, *, button: Callable[[Any], str] | None = None) -> str:
    """The page; ``button(model info or None)`` gives each model's retrain form (HTML) or ""."""
    ingestor = monitor.ingestor
    groups: dict[tuple[str, str], list[Window]] = defaultdict(list)
    with ingestor.lock:
        for window in ingestor.windows.values():
            groups[(window.key.namespace, window.key.service)].append(window)
        keys = sorted(groups)
    # The cluster is asked outside the lock: ingestion must not wait for the Kubernetes API.
    tables = {key: deployment_table(_cluster_history(monitor, *key)) for key in keys}
    with ingestor.lock:
        models = {service: ingestor.models.get(service) for _, service in keys}
        sections = [_model_section(f"{ns}/{service}", groups[(ns, service)], models[service], dict(monitor.settings.drift),
                                   tables[(ns, service)], button(models[service]) if button else "")
                    for ns, service in keys]  # fmt: skip
    alerts = monitor.store.alert_counts()
    body = "".join(sections) or '<p class="empty">No payload logs received yet.</p>'
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mlpipex monitor</title>'
            f'<meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><style>{_STYLE}</style></head><body>'
            f'<h1>mlpipex monitor</h1><p>{len(ingestor.windows)} windows · alerts: {alerts["pending"]} pending, '
            f'{alerts["sent"]} sent, {alerts["rejected"]} rejected · <a href="metrics">/metrics</a></p>'
            f'<div class="charts">{body}</div></body></html>')  # fmt: skip
