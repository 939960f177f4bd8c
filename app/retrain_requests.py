"""``POST /alerts/retrain``: a person asks for a model's retraining (the monitor's dashboard button).

The request comes in through the alert intake, authenticated the same way (the monitor's
``MLPIPEX_ALERT_TOKEN`` as a bearer token, or the webhook secret's HMAC), becomes one
``retrain.request`` job (idempotent by the request's id: a retried send queues nothing
new), and its handler opens or updates the retraining pull request through
``request_retraining``, the path of drift alerts, the schedule and ``/retrain``. The
audit log names who pressed the button (``monitor:<the monitor token's name>``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from mlpipex.app.alert_routes import (
    _RESPONSES,
    AlertReply,
    AlertResult,
    _authenticated_model,
    _reply,
)
from mlpipex.app.forge import RepoForge
from mlpipex.app.registry import JobContext, PermanentJobError, register
from mlpipex.app.retraining import config_for_alert, request_retraining

__all__ = ["RETRAIN_KIND", "RetrainRequest", "on_retrain_request", "router"]

RETRAIN_KIND = "retrain.request"

router = APIRouter()


class RetrainRequest(BaseModel):
    """One press of a retrain button."""

    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")  # unique per press
    model: str = Field(min_length=1, max_length=200)  # model.name or the InferenceService name
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=300)
    environment: str = Field("production", min_length=1, max_length=100)
    requested_by: str = Field(min_length=1, max_length=200)  # who pressed it, as the monitor knows them
    reason: str = Field("requested from the monitor's dashboard", min_length=1, max_length=1000)


def _enqueue(state: Any, ask: RetrainRequest) -> AlertResult:
    if not state.settings.allows(ask.repository):
        return AlertResult(id=ask.id, status="ignored", reason=f"repository {ask.repository} is not allowed")
    if not state.registry.handles(RETRAIN_KIND):
        return AlertResult(id=ask.id, status="ignored", reason=f"no handler for {RETRAIN_KIND}")
    payload = {"request": ask.model_dump(mode="json"), "repository": {"full_name": ask.repository}}
    job_id, created = state.store.jobs.enqueue(RETRAIN_KIND, payload, dedupe_key=f"retrain:{ask.id}")
    return AlertResult(id=ask.id, status="queued" if created else "duplicate", job_id=job_id)


_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetrainRequest"}}}}


@router.post("/alerts/retrain", summary="Ask for a model's retraining pull request (the monitor's dashboard)",
             response_model=AlertReply, status_code=202, responses=_RESPONSES,
             openapi_extra={"requestBody": _BODY})  # fmt: skip
async def retrain_request(request: Request) -> Any:
    ask = await _authenticated_model(request, RetrainRequest)
    state = request.app.state.mlpipex
    return _reply(state, [await run_in_threadpool(_enqueue, state, ask)])


@register(RETRAIN_KIND)
def on_retrain_request(payload: dict[str, Any], ctx: JobContext) -> None:
    ask = RetrainRequest.model_validate(payload["request"])
    forge = RepoForge(ctx.github(), ask.repository)
    chosen = config_for_alert(forge.configs(forge.default_branch()), ask.model)
    if isinstance(chosen, str):
        raise PermanentJobError(f"retrain request {ask.id}: {chosen}")
    url = request_retraining(forge, chosen, trigger="monitor dashboard", actor=ask.requested_by, reason=ask.reason)
    ctx.store.audit.record(actor=f"monitor:{ask.requested_by}", action="retrain", outcome="succeeded",
                           repository=ask.repository, model=chosen.model.name, environment=ask.environment,
                           detail=url)  # fmt: skip
