"""``POST /alerts/drift`` and ``POST /alerts/alertmanager``: authenticate, validate, queue.

Authentication: ``Authorization: Bearer $MLPIPEX_ALERT_TOKEN``, or
``X-Mlpipex-Signature-256: sha256=<HMAC-SHA256 of the body with the webhook secret>``.
Each alert becomes one ``alert.drift`` job, idempotent by its id.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from mlpipex.app.alerts import JOB_KIND, AlertmanagerNotification, DriftAlert, from_alertmanager
from mlpipex.app.auth import bearer_matches, signature_matches
from mlpipex.app.webhooks import Problem, read_body

_M = TypeVar("_M", bound=BaseModel)

__all__ = ["router"]

router = APIRouter()

ALERT_KIND = JOB_KIND
ALERT_BODY_LIMIT = 5 * 1024 * 1024


class AlertResult(BaseModel):
    id: str
    status: Literal["queued", "duplicate", "ignored"]
    job_id: int | None = None
    reason: str | None = None


class AlertReply(BaseModel):
    results: list[AlertResult]


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": AlertReply, "description": "accepted: each alert queued, duplicate or ignored"},
    401: {"model": Problem, "description": "missing or wrong bearer token / signature"},
    413: {"model": Problem},
    422: {"model": Problem, "description": "not a valid alert"},
}


async def _authenticated_body(request: Request) -> bytes:
    state = request.app.state.mlpipex
    body = await read_body(request, ALERT_BODY_LIMIT)
    token = state.settings.alert_token.get_secret_value() if state.settings.alert_token else None
    if not (bearer_matches(token, request.headers.get("authorization"))
            or signature_matches(state.webhook_secret, body, request.headers.get("x-mlpipex-signature-256"))):  # fmt: skip
        raise HTTPException(401, "send Authorization: Bearer <MLPIPEX_ALERT_TOKEN> or X-Mlpipex-Signature-256",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return body


def _enqueue(state: Any, alert: DriftAlert, source: str) -> AlertResult:
    if not state.settings.allows(alert.repository):
        return AlertResult(id=alert.id, status="ignored", reason=f"repository {alert.repository} is not allowed")
    if not state.registry.handles(ALERT_KIND):
        return AlertResult(id=alert.id, status="ignored", reason=f"no handler for {ALERT_KIND}")
    payload = {"source": source, "alert": alert.model_dump(mode="json"), "repository": {"full_name": alert.repository}}
    job_id, created = state.store.jobs.enqueue(ALERT_KIND, payload, dedupe_key=f"alert:{alert.id}")
    return AlertResult(id=alert.id, status="queued" if created else "duplicate", job_id=job_id)


async def _authenticated_model(request: Request, model: type[_M]) -> _M:
    """The request's body, authenticated and parsed as ``model``; 422 names what is wrong, never the input."""
    body = await _authenticated_body(request)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_input=False, include_context=False)) from None


def _reply(state: Any, results: list[AlertResult]) -> JSONResponse:
    if state.worker is not None and any(r.status == "queued" for r in results):
        state.worker.wake()
    return JSONResponse(AlertReply(results=results).model_dump(), status_code=202)


_DRIFT_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DriftAlert"}}}}
_AM_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertmanagerNotification"}}}}


@router.post("/alerts/drift", summary="Receive a mlpipex drift alert", response_model=AlertReply,
             status_code=202, responses=_RESPONSES, openapi_extra={"requestBody": _DRIFT_BODY})  # fmt: skip
async def drift_alert(request: Request) -> Any:
    alert = await _authenticated_model(request, DriftAlert)
    state = request.app.state.mlpipex
    return _reply(state, [await run_in_threadpool(_enqueue, state, alert, "mlpipex")])


@router.post("/alerts/alertmanager", summary="Receive a Prometheus Alertmanager notification (webhook v4)",
             response_model=AlertReply, status_code=202, responses=_RESPONSES,
             openapi_extra={"requestBody": _AM_BODY})  # fmt: skip
async def alertmanager(request: Request) -> Any:
    notification = await _authenticated_model(request, AlertmanagerNotification)
    state = request.app.state.mlpipex
    results = []
    for item in notification.alerts:
        converted = from_alertmanager(item)
        if isinstance(converted, str):
            results.append(AlertResult(id=f"alertmanager:{item.fingerprint}", status="ignored", reason=converted))
        else:
            results.append(await run_in_threadpool(_enqueue, state, converted, "alertmanager"))
    return _reply(state, results)
