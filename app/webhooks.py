"""``POST /webhooks/github``: verify, record, queue — nothing else runs in the request.

Order of checks: body size (413), signature over the raw body (401), event and
delivery headers (400), JSON (400), and for a kind the App handles, GitHub's
published schema for it (400; mlpipex.app.webhook_schemas), so nothing a handler
cannot read is ever queued. A verified delivery is recorded under its
``X-GitHub-Delivery`` id and, if a handler takes its kind and its repository is
allowed, queued in the same transaction, once per action (mlpipex.app.replay: a
signed body replayed under a new delivery id is answered ``replayed``, nothing queued); the answer goes back in milliseconds,
well inside GitHub's 10 seconds.

The route is served by ``WebhookIntake``, a plain ASGI callable the App answers
ahead of FastAPI (mlpipex.asgi); the FastAPI route below declares it for the
OpenAPI description and shares ``receive_delivery`` with it, so both give the same
answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mlpipex import asgi, fastjson
from mlpipex.app import webhook_schemas
from mlpipex.app.auth import signature_matches
from mlpipex.app.events import route
from mlpipex.app.logs import log_event
from mlpipex.app.replay import action_key
from mlpipex.app.store import Delivery

__all__ = ["Problem", "WebhookIntake", "WebhookReply", "read_body", "receive_delivery", "router"]

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
    """FastAPI's side of the route: what the OpenAPI description shows, and the answer when the App is
    served in a way that bypasses ``WebhookIntake`` (mounted under another application)."""
    headers = request.headers
    try:
        body = await read_body(request, request.app.state.mlpipex.settings.max_body_bytes)
        status, reply = await receive_delivery(request.app.state.mlpipex, headers, body)
    except HTTPException as exc:
        _log_rejected(headers, exc)
        raise
    return JSONResponse(reply, status_code=status)


class WebhookIntake:
    """``POST /webhooks/github`` as a plain ASGI callable, served ahead of FastAPI (mlpipex.asgi).

    The same checks in the same order with the same answers as the FastAPI route
    (``receive_delivery`` is shared); only FastAPI's routing, dependency solving and
    Request/Response objects are left out, which were half of what a delivery cost."""

    def __init__(self, state: Any) -> None:
        self.state = state

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        headers = asgi.headers_of(scope)
        try:
            try:
                body = await asgi.read_body(receive, headers, self.state.settings.max_body_bytes)
            except asgi.TooLarge:
                declared = headers.get("content-length")
                limit = self.state.settings.max_body_bytes
                raise HTTPException(413, f"body of {declared} bytes is over the {limit}-byte limit"
                                    if declared is not None and declared.isdigit() and int(declared) > limit
                                    else f"body is over the {limit}-byte limit") from None  # fmt: skip
            status, reply = await receive_delivery(self.state, headers, body)
        except asgi.Disconnected:
            return  # nobody to answer; nothing was recorded
        except HTTPException as exc:
            _log_rejected(headers, exc)
            await asgi.send_json(send, exc.status_code, {"detail": exc.detail}, headers=exc.headers)
            return
        except Exception:
            await asgi.server_error(send)
            raise
        await asgi.send_json(send, status, reply)


def _log_rejected(headers: Mapping[str, str], exc: HTTPException) -> None:
    """One line per delivery, refused ones too (ids only: the headers may be junk)."""
    delivery = headers.get("x-github-delivery", "")
    event = headers.get("x-github-event", "")
    log_event(log, "delivery", level=logging.WARNING, delivery=delivery[:100] if _DELIVERY.match(delivery) else None,
              event=event if _EVENT.match(event) else None, outcome="rejected", status=exc.status_code, reason=exc.detail)  # fmt: skip


# The schema check costs ~12 µs for a 3 kB payload and ~140 µs for 25 kB: below this size
# it runs on the event loop, which is cheaper than a hop to the thread pool and back.
_INLINE_CHECK_BYTES = 32 * 1024


async def _schema_problems(kind: str | None, payload: dict[str, Any], size: int) -> list[str]:
    if size <= _INLINE_CHECK_BYTES:
        return webhook_schemas.problems(kind, payload)
    return await run_in_threadpool(webhook_schemas.problems, kind, payload)


def _reply(status: str, kind: str | None = None, job_id: int | None = None, reason: str | None = None) -> dict[str, Any]:
    return {"status": status, "kind": kind, "job_id": job_id, "reason": reason}  # WebhookReply's fields, in order


async def receive_delivery(state: Any, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """Verify, record and queue one delivery: (HTTP status, WebhookReply as a dict); ``HTTPException`` to refuse.

    ``headers`` by lower-case name; ``body`` already read within the size limit."""
    if not signature_matches(state.webhook_secret, body, headers.get("x-hub-signature-256")):
        raise HTTPException(401, "missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the webhook secret)")
    event = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery", "")
    if not _EVENT.match(event):
        raise HTTPException(400, "missing or malformed X-GitHub-Event header")
    if not _DELIVERY.match(delivery):
        raise HTTPException(400, "missing or malformed X-GitHub-Delivery header")
    try:
        # The body's own text is stored as the job's payload when it is strict UTF-8 JSON (it reads
        # back to the same value): no second serialisation in the writer.
        payload, text = fastjson.loads_with_text(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not JSON (set the webhook's content type to application/json)") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body is JSON but not an object")
    if event == "ping":
        log_event(log, "delivery", delivery=delivery, event=event, outcome="pong")
        return 200, _reply("pong")
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
        action_key=action_key(event, payload), payload_json=text,
    ))  # fmt: skip
    if outcome.duplicate and outcome.outcome == "replayed":
        code, reply = 200, _reply("replayed", routing.kind, outcome.job_id, outcome.reason)
    elif outcome.duplicate:
        code, reply = 200, _reply("duplicate", routing.kind, outcome.job_id, "this delivery was already received")
    else:
        if outcome.job_id is not None and state.worker is not None:
            state.worker.wake()
        code, reply = 202, _reply("queued" if routing.queue else "ignored", routing.kind, outcome.job_id, routing.reason)
    log_event(log, "delivery", delivery=delivery, event=event, kind=routing.kind, repository=routing.repository,
              installation=routing.installation_id, outcome=reply["status"], job=reply["job_id"], reason=reply["reason"])  # fmt: skip
    return code, reply
