"""The monitor's HTTP service: a ``Monitor`` (state, store, scheduler) and its FastAPI routes.

``create_monitor_app(settings)`` makes a standalone app; ``monitor_router(monitor)``
gives the routes alone, so the GitHub App can mount them in its own process
(start and stop the monitor with it: ``monitor.start()`` / ``monitor.stop()``).

Routes: ``POST /`` and ``POST /events`` (KServe's logger URL, binary-mode
CloudEvents), ``GET /metrics``, ``GET /healthz``, ``POST /api/v1/labels``,
``GET /api/v1/samples``, ``GET /api/v1/windows``, ``GET /dashboard``.
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations
# (Request) at runtime, and they are imported inside monitor_router (FastAPI is optional).
import logging
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mlpipex.errors import MlpipexError
from mlpipex.monitor._canary import samples_for
from mlpipex.monitor._events import MAX_BODY, MalformedEvent
from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._metrics import CONTENT_TYPE, render_metrics
from mlpipex.monitor._scheduler import DriftFunction, Scheduler, run_drift
from mlpipex.monitor._settings import MonitorSettings
from mlpipex.monitor._store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["Monitor", "create_monitor_app", "monitor_router"]

log = logging.getLogger("mlpipex.monitor")
MAX_LABELS = 10_000  # per POST


class Monitor:
    """Everything one monitor process holds; windows come back from the store on open."""

    def __init__(self, settings: MonitorSettings, *, drift: DriftFunction = run_drift) -> None:
        self.settings = settings
        self.ingestor = Ingestor(settings.limits, settings.models)
        self.store = Store(settings.state_dir / "monitor.sqlite")
        for window in self.store.load_windows():
            if window.capacity == settings.limits.window:
                self.ingestor.windows[window.key] = window
        self.scheduler = Scheduler(self.ingestor, self.store, settings, drift=drift)
        self.started = False
        # (namespace, service) -> (when, the cluster's rollout history or an error): see _dashboard
        self.history_cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def start(self) -> None:
        if not self.started:
            self.scheduler.start()
            self.started = True

    def stop(self) -> None:
        if self.started:
            self.scheduler.stop()
            self.started = False
        else:
            self.store.save_windows(list(self.ingestor.windows.values()))

    def close(self) -> None:
        self.stop()
        self.store.close()


def _finite(values: Any) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def _label_items(body: Any) -> list[Mapping[str, Any]]:
    items = body.get("items") if isinstance(body, Mapping) and "items" in body else [body]
    if not isinstance(items, list) or not items or len(items) > MAX_LABELS:
        raise ValueError(f"send {{id, label|labels, value}} or {{items: [...]}} with 1 to {MAX_LABELS} items")
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise ValueError("each item needs the request id (`id`, the ce-id of the logged request)")
    return items


def _truth(item: Mapping[str, Any]) -> list[float]:
    raw = item.get("labels", item.get("label"))
    values = raw if isinstance(raw, list) else [raw]
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ValueError(f"{item['id']}: `label` (or `labels`, one per row) must be numbers")
    return [float(v) for v in values]


def monitor_router(monitor: "Monitor") -> "APIRouter":
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

    router = APIRouter()

    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            monitor.ingestor.malformed["size"] += 1
            return JSONResponse({"error": "payload too large"}, status_code=400)
        try:
            monitor.ingestor.ingest(request.headers, body)
        except MalformedEvent as exc:
            return JSONResponse({"error": str(exc), "reason": exc.reason}, status_code=400)
        except Exception as exc:  # never crash on an event: count it and say so
            log.exception("event could not be ingested")
            with monitor.ingestor.lock:
                monitor.ingestor.malformed["internal"] += 1
            return JSONResponse({"error": f"event not ingested: {type(exc).__name__}"}, status_code=400)
        return Response(status_code=200)

    router.add_api_route("/", receive, methods=["POST"], include_in_schema=False)
    router.add_api_route("/events", receive, methods=["POST"], summary="KServe payload-logger CloudEvents (binary mode)")

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(monitor.ingestor, monitor.store.alert_counts()), media_type=CONTENT_TYPE)

    @router.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "windows": len(monitor.ingestor.windows), "checks": monitor.scheduler.checks}

    @router.post("/api/v1/labels", summary="Delayed ground truth: labels and business outcome values by request id")
    async def labels(request: Request) -> dict[str, Any]:
        try:
            items = _label_items(await request.json())
            parsed = [(str(i["id"]), _truth(i), i.get("value")) for i in items]
            for _, _, value in parsed:
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise ValueError("`value` (the business outcome) must be a number")
            joined, unknown = 0, []
            for event_id, truth, value in parsed:
                if monitor.ingestor.add_truth(event_id, truth, value):
                    joined += 1
                else:
                    unknown.append(event_id)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"joined": joined, "unknown": unknown[:100]}

    @router.get("/api/v1/samples", summary="Per-revision samples for the canary analysis")
    def samples(namespace: str, service: str, role: str, metric: str) -> dict[str, Any]:
        try:
            values = samples_for(monitor.ingestor, namespace=namespace, service=service, role=role, metric=metric)
        except MlpipexError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"namespace": namespace, "service": service, "role": role, "metric": metric,
                "samples": _finite(values)}  # fmt: skip

    @router.get("/api/v1/windows", summary="What each window holds, with its last drift and quality checks")
    def windows() -> dict[str, Any]:
        with monitor.ingestor.lock:
            items = [{"key": w.key._asdict(), "endpoint": w.endpoint, "features": w.features,
                      "requests": w.requests, "responses": w.responses, "errors": w.errors, "samples": w.samples,
                      "rows": w.rows.size, "latency_ms": w.latency_percentiles(), "error_rate": w.error_rate(),
                      "drift": w.drift, "quality": w.quality_metrics, "first_seen": w.first_seen,
                      "last_seen": w.last_seen} for w in monitor.ingestor.windows.values()]  # fmt: skip
        return {"windows": items, "alerts": monitor.store.alert_counts()}

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        from mlpipex.monitor._dashboard import render_dashboard

        return HTMLResponse(render_dashboard(monitor))

    return router


def create_monitor_app(settings: MonitorSettings, *, drift: DriftFunction = run_drift,
                       monitor: "Monitor | None" = None) -> "FastAPI":  # fmt: skip
    from fastapi import FastAPI

    own = monitor or Monitor(settings, drift=drift)

    @asynccontextmanager
    async def lifespan(_: "FastAPI") -> AsyncIterator[None]:
        own.start()
        try:
            yield
        finally:
            own.close()

    app = FastAPI(title="mlpipex monitor", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.monitor = own
    app.include_router(monitor_router(own))
    return app
