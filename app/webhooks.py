"""``POST /webhooks/github``: verify, record, queue — nothing else runs in the request.

Order of checks: body size (413), signature over the raw body (401), event and
delivery headers (400), JSON (400), and for a kind the App handles, GitHub's
published schema for it (400; mlpipex.app.webhook_schemas), so nothing a handler
cannot read is ever queued. A verified delivery is recorded under its
``X-GitHub-Delivery`` id and, if a handler takes its kind and its repository is
allowed, queued in the same transaction, once per action (mlpipex.app.replay: a
signed body replayed under a new delivery id is answered ``replayed``, nothing queued); the answer goes back in milliseconds,
well inside GitHub's 10 seconds.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mlpipex.app import webhook_schemas
from mlpipex.app.auth import signature_matches
from mlpipex.app.events import route
from mlpipex.app.logs import log_event
from mlpipex.app.replay import action_key
from mlpipex.app.store import Delivery

__all__ = ["Problem", "WebhookReply", "read_body", "router"]

router = APIRouter()
log = logging.getLogger("mlpipex.app.webhooks")

_EVENT = re.compile(r"^[a-z_]{1,100}$")
_DELIVERY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class WebhookReply(BaseModel):
    status: Literal["pong", "queued", "ignored", "duplicate", "replayed"]
    kind: str | None = None
    job_id: int | None = None
    reason: str | None = None


class Problem(BaseModel):
    """The body of every 4xx/5xx answer: what was wrong (a message, or validation errors)."""

    detail: str | list[dict[str, Any]]


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) anything over ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "description": "a GitHub webhook payload"}}},
}
_HEADERS = [
    {"name": "X-Hub-Signature-256", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "sha256=HMAC-SHA256 of the raw body with the webhook secret"},
    {"name": "X-GitHub-Event", "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": "X-GitHub-Delivery", "in": "header", "required": True, "schema": {"type": "string"}},
]  # fmt: skip


@router.post(
    "/webhooks/github",
    summary="Receive a GitHub webhook delivery",
    response_model=WebhookReply,
    responses={
        202: {"model": WebhookReply, "description": "recorded: queued or ignored"},
        400: {"model": Problem, "description": "missing event/delivery header, malformed JSON, or a payload "
                                               "GitHub's webhook schema for its kind does not admit"},
        401: {"model": Problem, "description": "missing or wrong signature"},
        413: {"model": Problem, "description": "body too large"},
    },
    openapi_extra={"requestBody": _BODY, "parameters": _HEADERS},
)
async def github_webhook(request: Request) -> Any:
    delivery = request.headers.get("x-github-delivery", "")
    event = request.headers.get("x-github-event", "")
    try:
        return await _receive(request)
    except HTTPException as exc:  # one line per delivery, refused ones too (ids only: the headers may be junk)
        log_event(log, "delivery", level=logging.WARNING, delivery=delivery[:100] if _DELIVERY.match(delivery) else None,
                  event=event if _EVENT.match(event) else None, outcome="rejected", status=exc.status_code, reason=exc.detail)  # fmt: skip
        raise


# The schema check costs ~23 µs for a 3 kB payload and ~140 µs for 25 kB: below this size
# it runs on the event loop, which is cheaper than a hop to the thread pool and back.
_INLINE_CHECK_BYTES = 32 * 1024


async def _schema_problems(kind: str | None, payload: dict[str, Any], size: int) -> list[str]:
    if size <= _INLINE_CHECK_BYTES:
        return webhook_schemas.problems(kind, payload)
    return await run_in_threadpool(webhook_schemas.problems, kind, payload)


async def _receive(request: Request) -> Any:
    state = request.app.state.mlpipex
    body = await read_body(request, state.settings.max_body_bytes)
    if not signature_matches(state.webhook_secret, body, request.headers.get("x-hub-signature-256")):
        raise HTTPException(401, "missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the webhook secret)")
    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if not _EVENT.match(event):
        raise HTTPException(400, "missing or malformed X-GitHub-Event header")
    if not _DELIVERY.match(delivery):
        raise HTTPException(400, "missing or malformed X-GitHub-Delivery header")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not JSON (set the webhook's content type to application/json)") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body is JSON but not an object")
    if event == "ping":
        log_event(log, "delivery", delivery=delivery, event=event, outcome="pong")
        return WebhookReply(status="pong")
    routing = route(event, payload, allowed=state.settings.allows, handles=state.registry.handles)
    if routing.queue and (wrong := await _schema_problems(routing.kind, payload, len(body))):
        raise HTTPException(400, f"the {routing.kind} payload does not match GitHub's webhook schema "
                                 f"({webhook_schemas.SOURCE}): " + "; ".join(wrong))  # fmt: skip
    # The writer thread commits this delivery with the others arriving now (group commit);
    # the answer goes out only after that commit.
    outcome = await state.store.intake.submit(Delivery(
        delivery, event=event, action=payload.get("action") if isinstance(payload.get("action"), str) else None,
        repository=routing.repository, installation_id=routing.installation_id,
        job_kind=routing.kind if routing.queue else None, payload=payload, reason=routing.reason,
        action_key=action_key(event, payload),
    ))  # fmt: skip
    if outcome.duplicate and outcome.outcome == "replayed":
        reply = WebhookReply(status="replayed", kind=routing.kind, job_id=outcome.job_id, reason=outcome.reason)
        code = 200
    elif outcome.duplicate:
        reply = WebhookReply(status="duplicate", kind=routing.kind, job_id=outcome.job_id,
                             reason="this delivery was already received")  # fmt: skip
        code = 200
    else:
        if outcome.job_id is not None and state.worker is not None:
            state.worker.wake()
        reply = WebhookReply(status="queued" if routing.queue else "ignored", kind=routing.kind,
                             job_id=outcome.job_id, reason=routing.reason)  # fmt: skip
        code = 202
    log_event(log, "delivery", delivery=delivery, event=event, kind=routing.kind, repository=routing.repository,
              installation=routing.installation_id, outcome=reply.status, job=reply.job_id, reason=reply.reason)  # fmt: skip
    return JSONResponse(reply.model_dump(), status_code=code)
