"""The monitor's HTTP service: a ``Monitor`` (state, journal, store, scheduler) and its FastAPI routes.

``create_monitor_app(settings)`` makes a standalone app; ``monitor_router(monitor)``
gives the routes alone, so the GitHub App can mount them in its own process
(start and stop the monitor with it: ``monitor.start()`` / ``monitor.stop()``).

Routes: ``POST /`` and ``POST /events`` (KServe's logger URL, binary-mode
CloudEvents), ``GET /metrics``, ``GET /healthz``, ``POST /api/v1/labels``,
``GET /api/v1/samples``, ``GET /api/v1/windows``, ``GET /dashboard``, ``POST
/dashboard/retrain`` (its buttons: ``mlpipex.monitor._retrain``); which token scope
each needs is in ``mlpipex.monitor._auth``.

An event is answered 200 only once it is in the journal (durable under the sync
policy); windows are checkpointed with the journal position they include, and a
start replays the journal from there: an acknowledged event is counted once after
a crash. Bodies are read in chunks and refused with 413 as soon as they pass the
limit, before the rest is read.
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations
# (Request) at runtime, and they are imported inside monitor_router (FastAPI is optional).
import json
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mlpipex.errors import MlpipexError
from mlpipex.monitor._auth import Token
from mlpipex.monitor._canary import canary_revisions, samples_for
from mlpipex.monitor._events import MalformedEvent
from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._intake import (
    BUSY,
    Answer,
    BodyTooLarge,
    Busy,
    EventIntake,
    InFlight,
    read_chunks,
    take_event,
)
from mlpipex.monitor._intake import authorise as authorise_headers
from mlpipex.monitor._journal import EventJournal, FileJournal
from mlpipex.monitor._metrics import MonitorCollector, encode_metrics, metrics_registry
from mlpipex.monitor._retrain import COOKIE, MAX_FORM, SCOPE, RetrainButtons, press
from mlpipex.monitor._scheduler import DriftFunction, Scheduler, run_drift
from mlpipex.monitor._settings import MonitorSettings
from mlpipex.monitor._store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI, Request
    from fastapi.responses import Response

    from mlpipex.monitor._kafka import EventProducer, GroupMember, KafkaSettings

__all__ = ["Monitor", "create_monitor_app", "monitor_router"]

log = logging.getLogger("mlpipex.monitor")
MAX_LABELS = 10_000  # per POST
MAX_LABEL_BODY = 8 << 20


class Monitor:
    """Everything one monitor process holds; windows come back from the last checkpoint plus the journal."""

    def __init__(self, settings: MonitorSettings, *, drift: DriftFunction = run_drift,
                 journal: EventJournal | None = None, kafka: "KafkaSettings | None" = None) -> None:  # fmt: skip
        self.settings = settings
        # Kafka mode: received events go to the payload topic (one path with KafkaSink's records), and
        # this process is a replica of the consumer group that builds the windows (mlpipex.monitor._kafka).
        self.producer: EventProducer | None = None
        self.member: GroupMember | None = None
        if kafka is not None:
            from mlpipex.monitor import _kafka

            self.member = _kafka.GroupMember(settings, kafka, drift=drift)
            self.producer = _kafka.EventProducer(kafka)
        self.ingestor = Ingestor(settings.limits, settings.models)
        self.inflight = InFlight(settings.limits.inflight_bytes)  # request bodies being received, all routes
        self.store = Store(settings.state_dir / "monitor.sqlite")
        position, joins = self.store.load_checkpoint()
        for window in self.store.load_windows():
            if window.capacity == settings.limits.window:
                self.ingestor.add_window(window)
        self.ingestor.restore_join_state(joins)
        self.journal = journal or FileJournal(settings.state_dir / "journal", sync=settings.journal_sync)
        if self.journal.position() < position:
            # A journal newer than the checkpoint (its directory was lost): all it holds came after it.
            log.warning("the journal ends before the checkpoint's position %d: replaying all of it", position)
            position = 0
        started = time.perf_counter()
        self.replayed = self.ingestor.replay(self.journal, position)
        if self.replayed:
            log.info("replayed %d journal records after the checkpoint in %.2f s", self.replayed,
                     time.perf_counter() - started)  # fmt: skip
        self.ingestor.journal = self.journal
        self.checkpointed = position
        self._checkpoint_lock = threading.Lock()
        self.scheduler = Scheduler(self.ingestor, self.store, settings, drift=drift, checkpoint=self.checkpoint,
                                   maintain=self._maintain)  # fmt: skip
        self.started = False
        # (namespace, service) -> (when, the cluster's rollout history or an error): see _dashboard
        self.history_cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def checkpoint(self) -> None:
        """Save what changed since the last checkpoint with the journal position it includes; drop older journal."""
        with self._checkpoint_lock:
            saved = self.store.saved_windows()
            with self.ingestor.lock:  # copies only: compression and the write happen outside the lock
                position = self.journal.position()
                changed, self.ingestor.changed = self.ingestor.changed, set()
                dropped, self.ingestor.dropped = self.ingestor.dropped, set()
                states = [(w.key.label(), w.meta_state(),
                           w.array_state() if w.key in changed or w.key.label() not in saved else None)
                          for w in self.ingestor.windows.values()]  # fmt: skip
                joins_snapshot = self.ingestor.join_snapshot()
            joins = self.ingestor.join_state(joins_snapshot)
            try:
                self.store.save_checkpoint(position, states, [k.label() for k in dropped], joins)
            except BaseException:
                with self.ingestor.lock:
                    self.ingestor.changed |= changed
                    self.ingestor.dropped |= dropped
                raise
            self.journal.release(position)
            self.checkpointed = position

    def _maintain(self, now: float) -> None:
        if self.journal.pending_bytes(self.checkpointed) >= self.settings.checkpoint_bytes:
            self.checkpoint()  # bounds the journal on disk and the replay after a crash

    def start(self) -> None:
        if not self.started:
            self.scheduler.start()
            if self.member is not None:
                self.member.start()
            self.started = True

    def stop(self) -> None:
        if self.started:
            self.scheduler.stop()
            self.started = False
        else:
            self.checkpoint()

    def close(self) -> None:
        self.stop()
        if self.producer is not None:
            self.producer.close()
        if self.member is not None:
            self.member.stop()
        self.journal.close()
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


async def _read_body(request: "Request", limit: int, inflight: InFlight) -> bytes:
    """The body within ``limit`` and the in-flight budget (mlpipex.monitor._intake.read_chunks)."""
    return await read_chunks(request.headers.get("content-length"), request.stream(), limit, inflight)


def _response(answer: Answer) -> "Response":
    from fastapi.responses import JSONResponse, Response

    if answer.content is None:
        return Response(status_code=answer.status, headers=answer.headers)
    return JSONResponse(answer.content, status_code=answer.status, headers=answer.headers)


def monitor_router(monitor: "Monitor") -> "APIRouter":
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.concurrency import run_in_threadpool

    router = APIRouter()
    auth = monitor.settings.auth
    inflight = monitor.inflight
    busy = BUSY
    buttons = RetrainButtons(monitor.settings)
    registry = metrics_registry(MonitorCollector(monitor.ingestor, monitor.store.alert_counts,
                                                 lambda: monitor.journal.pending_bytes(monitor.checkpointed)))  # fmt: skip

    def authorise(request: Request, scope: str, *, basic: bool = False) -> "Token | Response | None":
        """The caller's token (None when authentication is off), or the 401/403 to answer."""
        token = authorise_headers(monitor, auth, request.headers, scope, basic=basic)
        return _response(token) if isinstance(token, Answer) else token

    async def receive(request: Request) -> Response:
        # Served by EventIntake ahead of FastAPI (create_monitor_app); this is the same logic for the
        # OpenAPI description and for a mount that bypasses the hot route.
        return _response(await take_event(monitor, inflight, request.headers, request.stream(), request.url.query))

    router.add_api_route("/", receive, methods=["POST"], include_in_schema=False)
    router.add_api_route("/events", receive, methods=["POST"], summary="KServe payload-logger CloudEvents (binary mode)")

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not auth.open_metrics:
            token = authorise(request, "metrics")
            if isinstance(token, Response):
                return token
        body, content_type = encode_metrics(registry, request.headers.get("accept"))
        return Response(body, media_type=content_type)

    @router.get("/healthz")
    def healthz() -> dict[str, Any]:
        health: dict[str, Any] = {"status": "ok", "windows": len(monitor.ingestor.windows),
                                  "checks": monitor.scheduler.checks}  # fmt: skip
        if monitor.member is not None:
            health["kafka"] = monitor.member.status()
        return health

    @router.post("/api/v1/labels", summary="Delayed ground truth: labels and business outcome values by request id")
    async def labels(request: Request) -> Any:
        token = authorise(request, "labels")
        if isinstance(token, Response):
            return token
        if monitor.member is not None:
            return JSONResponse({"error": "labels are not taken in Kafka mode yet: the prediction they join is held "
                                          "by the replica that owns its partition"}, status_code=501)  # fmt: skip
        try:
            raw = await _read_body(request, MAX_LABEL_BODY, inflight)
        except Busy:
            return JSONResponse(busy, status_code=503, headers={"Retry-After": "1", "Connection": "close"})
        except BodyTooLarge:
            return JSONResponse({"error": f"labels body larger than {MAX_LABEL_BODY} bytes"}, status_code=413,
                                headers={"Connection": "close"})  # fmt: skip
        try:
            items = _label_items(json.loads(raw))
            parsed = [(str(i["id"]), _truth(i), i.get("value")) for i in items]
            for _, _, value in parsed:
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise ValueError("`value` (the business outcome) must be a number")
            joined, position = monitor.ingestor.add_truths(parsed)
            await monitor.journal.wait_async(position)
        except OSError as exc:
            log.error("labels not journaled: %s", exc)
            return JSONResponse({"error": "the monitor cannot store labels now"}, status_code=503)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(400, str(exc)) from None
        done = set(joined)
        return {"joined": len(joined), "unknown": [i for i, _, _ in parsed if i not in done][:100]}

    @router.get("/api/v1/samples", summary="Per-revision samples for the canary analysis")
    def samples(request: Request, namespace: str, service: str, role: str, metric: str,
                canary_revision: str | None = None, stable_revision: str | None = None) -> Any:  # fmt: skip
        token = authorise(request, "read")
        if isinstance(token, Response):
            return token
        try:
            revisions = canary_revisions(canary_revision, stable_revision)
            values = samples_for(monitor.ingestor, namespace=namespace, service=service, role=role, metric=metric,
                                 revisions=revisions)  # fmt: skip
        except (MlpipexError, MalformedEvent) as exc:
            raise HTTPException(400, str(exc)) from None
        return {"namespace": namespace, "service": service, "role": role, "metric": metric,
                "samples": _finite(values)}  # fmt: skip

    @router.get("/api/v1/windows", summary="What each window holds, with its last drift and quality checks")
    def windows(request: Request) -> Any:
        token = authorise(request, "read")
        if isinstance(token, Response):
            return token
        def describe(w: Any) -> dict[str, Any]:
            return {"key": w.key._asdict(), "endpoint": w.endpoint, "features": w.features,
                    "requests": w.requests, "responses": w.responses, "errors": w.errors, "samples": w.samples,
                    "rows": w.rows.size, "latency_ms": w.latency_percentiles(), "error_rate": w.error_rate(),
                    "drift": w.drift, "quality": w.quality_metrics, "first_seen": w.first_seen,
                    "last_seen": w.last_seen}  # fmt: skip

        if monitor.member is not None:  # Kafka mode: the group's merged windows (leader) and this replica's part
            with monitor.member.lock:
                owned = {p: list(part.ingestor.windows.values()) for p, part in monitor.member.partitions.items()}
            return {"group": [describe(w) for w in monitor.member.windows],
                    "partitions": {str(p): [describe(w) for w in ws] for p, ws in sorted(owned.items())},
                    "leader": monitor.member.leader}  # fmt: skip
        with monitor.ingestor.lock:
            items = [describe(w) for w in monitor.ingestor.windows.values()]
        return {"windows": items, "alerts": monitor.store.alert_counts()}

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        token = authorise(request, "read", basic=True)  # a browser asks for Basic: any user name, the token
        if isinstance(token, Response):
            return token
        from mlpipex.monitor._dashboard import render_dashboard

        if token is None or SCOPE not in token.scopes:
            return HTMLResponse(render_dashboard(monitor))
        nonce = buttons.new_nonce()
        page = render_dashboard(monitor, button=lambda model: buttons.form(nonce, token, model.service)
                                if buttons.offered(model) else "")  # fmt: skip
        response = HTMLResponse(page)
        response.set_cookie(COOKIE, nonce, httponly=True, samesite="strict", path="/")
        return response

    @router.post("/dashboard/retrain", response_class=HTMLResponse, summary="A retrain button: asks the App")
    async def retrain(request: Request) -> Response:
        token = authorise(request, SCOPE, basic=True)
        if isinstance(token, Response):
            return token
        try:
            raw = await _read_body(request, MAX_FORM, inflight)
        except (BodyTooLarge, Busy):
            return JSONResponse({"error": f"a button's form is under {MAX_FORM} bytes"}, status_code=413)
        status, page = await run_in_threadpool(press, buttons, monitor.ingestor.models, token, raw,
                                               request.cookies.get(COOKIE))  # fmt: skip
        return HTMLResponse(page, status_code=status)

    return router


def create_monitor_app(settings: MonitorSettings, *, drift: DriftFunction = run_drift,
                       monitor: "Monitor | None" = None, kafka: "KafkaSettings | None" = None) -> "FastAPI":  # fmt: skip
    from mlpipex.asgi import HotRoutedFastAPI

    own = monitor or Monitor(settings, drift=drift, kafka=kafka)

    @asynccontextmanager
    async def lifespan(_: "FastAPI") -> AsyncIterator[None]:
        own.start()
        try:
            yield
        finally:
            own.close()

    app = HotRoutedFastAPI(title="mlpipex monitor", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.monitor = own
    app.include_router(monitor_router(own))
    intake = EventIntake(own, own.inflight)  # the payload logger's POSTs, ahead of FastAPI's routing
    for path in ("/", "/events"):
        app.serve_hot("POST", path, intake)
    return app
