"""The scheduler: drift and quality checks on an interval, alerts through the outbox.

Every ``schedule_seconds`` each window with a reference profile is tested through
``mlpipex.drift`` (the one place the monitor calls it), each window with enough
labels is judged for a quality drop, the hysteresis decides whether an alert
fires, and the windows are saved. Every tick, due alerts are sent: 2xx marks one
sent; a network error, 408, 429 or 5xx retries with exponential backoff (honouring
``Retry-After``); any other 4xx will never succeed and is kept as rejected.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mlpipex.monitor._alerts import alert_body, alert_id, step
from mlpipex.monitor._ingest import Ingestor, ModelInfo
from mlpipex.monitor._quality import judge_quality
from mlpipex.monitor._settings import MonitorSettings
from mlpipex.monitor._store import Store
from mlpipex.monitor._windows import Window
from mlpipex.retry import backoff
from mlpipex.retry import retry_after as parse_retry_after

__all__ = ["DriftFunction", "Scheduler", "run_drift"]

log = logging.getLogger("mlpipex.monitor")

HISTORY = 96  # checks kept per window for the dashboard
BACKOFF_MAX = 300.0

DriftFunction = Callable[[Mapping[str, Any], Mapping[str, np.ndarray], Mapping[str, Any]], dict[str, Any]]


def run_drift(profile: Mapping[str, Any], columns: Mapping[str, np.ndarray], monitoring: Mapping[str, Any]) -> dict[str, Any]:
    """The drift report of ``columns`` against ``profile``, as a dict (``verdict``, ``features``…)."""
    from mlpipex.drift import DriftSettings, Reference, detect_drift

    settings = _drift_settings(DriftSettings, monitoring)
    report = detect_drift(Reference.from_profile(dict(profile)), columns, settings)
    result: dict[str, Any] = report.to_dict()
    return result


def _drift_settings(cls: Any, monitoring: Mapping[str, Any]) -> Any:
    """DriftSettings from the `monitoring:` section (as a dict): the fields it has, defaults for the rest."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    return cls(**{k: v for k, v in monitoring.items() if k in names})


class Scheduler:
    def __init__(self, ingestor: Ingestor, store: Store, settings: MonitorSettings, *,
                 drift: DriftFunction = run_drift, clock: Callable[[], float] = time.time,
                 checkpoint: Callable[[], None] | None = None,
                 maintain: Callable[[float], None] | None = None) -> None:  # fmt: skip
        self.ingestor, self.store, self.settings = ingestor, store, settings
        # How windows are saved after each check and on stop (the monitor's journal checkpoint).
        self.checkpoint = checkpoint or (lambda: store.save_windows(self._windows()))
        self.maintain = maintain
        self.drift, self.clock = drift, clock
        self.last_check: float | None = None
        self.checks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mlpipex-monitor-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.checkpoint()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a bad check must not stop monitoring
                log.exception("monitor scheduler tick failed")
            self._stop.wait(self.settings.tick_seconds)

    def tick(self) -> None:
        now = self.clock()
        self.ingestor.expire(now)
        if self.last_check is None or now - self.last_check >= self.settings.schedule_seconds:
            self.check(now)
        elif self.maintain is not None:
            self.maintain(now)
        self.deliver(now)

    # -- checks --------------------------------------------------------------------------

    def _windows(self) -> list[Window]:
        with self.ingestor.lock:
            return list(self.ingestor.windows.values())

    def check(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self.last_check = now
        self.checks += 1
        for window in self._windows():
            model = self.ingestor.models.get(window.key.service) or ModelInfo(window.key.service)
            with self.ingestor.lock:
                columns = window.columns()
                quality = window.quality.values()
            if model.profile:
                self._check_drift(window, model, columns, now)
            if quality.shape[0]:
                self._check_quality(window, model, quality, now)
        self.checkpoint()

    def _check_drift(self, window: Window, model: ModelInfo, columns: Mapping[str, np.ndarray], now: float) -> None:
        assert model.profile is not None
        known = {k: v for k, v in columns.items() if k in (model.profile.get("features") or {})}
        try:
            report = self.drift(model.profile, known, self.settings.drift)
        except Exception as exc:
            log.warning("drift check of %s failed: %s", window.key.label(), exc)
            return
        verdict = report.get("verdict")
        drifted = True if verdict == "drift" else False if verdict == "no_drift" else None
        features = report.get("features") or []
        window.drift = {**report, "checked_at": now, "samples": len(next(iter(known.values()), []))}
        window.history = [*window.history, {"at": now, "verdict": verdict, "features": {
            str(f.get("name")): {k: f.get(k) for k in ("statistic", "p_value", "adjusted_p_value", "psi", "threshold",
                                                       "drifted", "test")} for f in features}}][-HISTORY:]  # fmt: skip
        drifted_features = [f for f in features if f.get("drifted")]
        psi_alert = float(self.settings.drift.get("psi_alert", self.settings.drift.get("psi_threshold", 0.25)))
        severe = any(isinstance(f.get("psi"), (int, float)) and f["psi"] >= psi_alert for f in drifted_features) \
            or len(drifted_features) * 2 > max(1, len(features))  # fmt: skip
        names = ", ".join(str(f.get("name")) for f in drifted_features[:10])
        self._decide("drift", window, model, drifted, now, features=features,
                     severity="critical" if severe else "warning",
                     summary=f"{len(drifted_features)} of {len(features)} features drifted: {names}")  # fmt: skip

    def _check_quality(self, window: Window, model: ModelInfo, rows: np.ndarray, now: float) -> None:
        s = self.settings
        result = judge_quality(model.task, rows[:, 1], rows[:, 2], rows[:, 3], model.baseline,
                               max_drop=s.quality_max_drop, alpha=s.quality_alpha, min_labels=s.quality_min_labels)  # fmt: skip
        window.quality_metrics = {**result.metrics, "labels": float(result.labels)}
        if result.p_value is not None:
            window.quality_metrics["drop_p_value"] = result.p_value
        value = result.metrics.get(result.metric)
        summary = (f"quality drop: {result.metric} {value:.4g} over {result.labels} labels vs {result.baseline:.4g} "
                   f"offline (p={result.p_value:.2g})") if result.dropped else ""  # fmt: skip
        self._decide("quality", window, model, result.dropped, now, features=[], severity="critical", summary=summary)

    def _decide(self, kind: str, window: Window, model: ModelInfo, bad: bool | None, now: float, *,
                features: list[dict[str, Any]], severity: str, summary: str) -> None:  # fmt: skip
        label = window.key.label()
        state_key = f"{kind}|{label}"
        alerts = self.settings.alerts
        state = self.store.hysteresis(state_key)
        new_state, action = step(state, bad, fire_after=alerts.fire_after, resolve_after=alerts.resolve_after, now=now)
        alert = None
        if action == "fire":
            log.warning("%s alert for %s: %s", kind, label, summary)
            if alerts.url:
                identifier = alert_id(kind, label, now)
                times = window.latencies.values()[:, 0] if window.latencies.size else np.array([window.first_seen])
                body = alert_body(alert_id=identifier, model=model.service, repository=model.repository,
                                  environment=model.environment or "production", window_label=label,
                                  window_start=float(min(times.min(), window.first_seen)), window_end=now,
                                  samples=window.rows.size, features=features if kind == "drift" else [],
                                  severity=severity, fired_at=now, summary=summary)  # fmt: skip
                alert = (identifier, alerts.url, body)
        elif action == "resolve":
            log.info("%s alert for %s resolved", kind, label)
        if new_state != state or alert is not None:
            self.store.record_step(state_key, new_state, alert)

    # -- delivery ------------------------------------------------------------------------

    def deliver(self, now: float | None = None) -> int:
        """Send due alerts; the number sent."""
        now = self.clock() if now is None else now
        sent = 0
        token = os.environ.get(self.settings.alerts.token_env)
        for pending in self.store.due(now):
            request = urllib.request.Request(pending.url, data=pending.body.encode(), method="POST",
                                             headers={"Content-Type": "application/json",
                                                      "User-Agent": "mlpipex-monitor",
                                                      "Idempotency-Key": pending.id})  # fmt: skip
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            retry_after: float | None = None
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                self.store.mark_sent(pending.id, self.clock())
                sent += 1
                continue
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code not in (408, 429):
                    detail = exc.read()[:300].decode("utf-8", "replace")
                    log.error("alert %s rejected by %s: HTTP %s %s", pending.id, _host(pending.url), exc.code, detail)
                    self.store.mark_failed(pending.id, now, f"HTTP {exc.code}: {detail}")
                    continue
                error = f"HTTP {exc.code}"
                retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            delay = backoff(pending.attempts, base=1.0, cap=BACKOFF_MAX)
            if retry_after is not None:
                delay = max(delay, min(retry_after, BACKOFF_MAX * 4))
            log.warning("alert %s not delivered (%s); retry in %.0f s", pending.id, error, delay)
            self.store.mark_retry(pending.id, now + delay, error)
        return sent


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc

