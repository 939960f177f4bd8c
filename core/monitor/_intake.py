"""``POST /`` and ``POST /events``: KServe's payload logger in, as a plain ASGI callable (mlpipex.asgi).

The order and the answers are the route's: the token (401/403, the body unread and
the connection closed), the InferenceService the token may send, the body within
``MAX_BODY`` (413) and the in-flight budget (503 busy), the URL's ``?revision=`` marker
(400 if malformed; it becomes the event's ``ce-mlpipexrevision`` attribute, see
mlpipex.monitor._events), then the event checked and applied (400 names what is wrong) and journaled, and 200 only once the journal has it
(503 if it cannot). ``take_event`` is that logic on plain data; ``EventIntake`` serves
it ahead of FastAPI, which spent about half of an event's CPU in its own request
handling; the FastAPI route (mlpipex.monitor._service) serves it too, for the docs
and any mount that bypasses the hot route.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.monitor._auth import MonitorAuth, Token, presented_token
from mlpipex.monitor._events import (
    MARKER_ATTRIBUTE,
    MAX_BODY,
    MalformedEvent,
    parse_event,
    revision_marker,
)

if TYPE_CHECKING:
    from mlpipex import asgi
    from mlpipex.monitor._service import Monitor

__all__ = ["Answer", "BodyTooLarge", "Busy", "EventIntake", "InFlight", "authorise", "read_chunks", "refusal",
           "take_event"]  # fmt: skip

log = logging.getLogger("mlpipex.monitor")
BUSY = {"error": "the monitor is receiving too much at once; retry", "reason": "busy"}


class BodyTooLarge(Exception):
    pass


class Busy(Exception):
    """The bodies being received together already hold the in-flight budget."""


class InFlight:
    """Bytes of request bodies being received at once (one event loop: no lock needed)."""

    def __init__(self, budget: int) -> None:
        self.budget, self.used = budget, 0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as data: ``content`` None is an empty body (no content type), else JSON."""

    status: int
    content: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


OK = Answer(200)


async def read_chunks(declared: str | None, chunks: AsyncIterator[bytes], limit: int, inflight: InFlight) -> bytes:
    """The body, refused as soon as it passes ``limit`` (by Content-Length, else while streaming).

    ``Busy`` when the bodies received concurrently would pass the in-flight budget: many
    slow senders cannot make the monitor buffer more than that, whatever each one sends.
    """
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge()
    received: list[bytes] = []
    total = held = 0  # held: what this body counts against the budget
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise BodyTooLarge()
            if inflight.used + len(chunk) > inflight.budget:
                raise Busy()
            inflight.used += len(chunk)
            held += len(chunk)
            received.append(chunk)
    finally:
        inflight.used -= held
    return received[0] if len(received) == 1 else b"".join(received)


def refusal(monitor: Monitor, status: int, message: str, *, basic: bool = False) -> Answer:
    with monitor.ingestor.lock:  # a logger with a missing or wrong token shows up in /metrics
        monitor.ingestor.refused["unauthenticated" if status == 401 else "forbidden"] += 1
    challenge = 'Basic realm="mlpipex monitor"' if basic else 'Bearer realm="mlpipex monitor"'
    headers = {"WWW-Authenticate": challenge} if status == 401 else {}
    # Close the connection: an unauthenticated sender's body is not read.
    return Answer(status, {"error": message}, {**headers, "Connection": "close"})


def authorise(monitor: Monitor, auth: MonitorAuth, headers: Mapping[str, str], scope: str, *,
              basic: bool = False) -> Token | Answer | None:  # fmt: skip
    """The caller's token (None when authentication is off), or the 401/403 to answer."""
    if not auth.enabled:
        return None
    token = auth.identify(presented_token(headers.get("authorization")))
    if token is None:
        return refusal(monitor, 401, "a valid monitor token is required (Authorization: Bearer TOKEN)", basic=basic)
    if scope not in token.scopes:
        return refusal(monitor, 403, f"token {token.name!r} may not {scope}")
    return token


async def take_event(monitor: Monitor, inflight: InFlight, headers: Mapping[str, str],
                     chunks: AsyncIterator[bytes], query: str = "") -> Answer:  # fmt: skip
    """One CloudEvent: ``headers`` by lower-case name, ``chunks`` its body as it arrives, ``query``
    the request URL's query string (the logger URL's, with mlpipex's revision marker)."""
    auth = monitor.settings.auth
    token = authorise(monitor, auth, headers, "ingest")
    if isinstance(token, Answer):
        return token
    if token is not None and not token.may_send(headers.get("ce-inferenceservicename", "").strip()):
        return refusal(monitor, 403, f"token {token.name!r} may not send events of this InferenceService")
    try:
        body = await read_chunks(headers.get("content-length"), chunks, MAX_BODY, inflight)
    except Busy:
        with monitor.ingestor.lock:
            monitor.ingestor.refused["busy"] += 1
        return Answer(503, BUSY, {"Retry-After": "1", "Connection": "close"})
    except BodyTooLarge:
        with monitor.ingestor.lock:
            monitor.ingestor.malformed["size"] += 1
        return Answer(413, {"error": f"payload larger than {MAX_BODY} bytes", "reason": "size"}, {"Connection": "close"})
    try:
        marker = revision_marker(query)
    except MalformedEvent as exc:
        with monitor.ingestor.lock:
            monitor.ingestor.malformed[exc.reason] += 1
        return Answer(400, {"error": str(exc), "reason": exc.reason})
    if marker is not None:  # the URL names the predictor: it outranks what the attributes say
        headers = {**headers, MARKER_ATTRIBUTE: marker}
    try:
        if monitor.producer is not None:  # Kafka mode: checked here, applied by the partition's owner
            attributes = {k: v for k, v in headers.items() if k.startswith("ce-")}
            parse_event(attributes, body)
            if headers.get("content-type"):
                attributes["content-type"] = headers["content-type"]
            await monitor.producer.send(attributes, body)
            return OK
        # Parsing and journaling read only the ce- attributes they name: the headers as they are.
        _, position = monitor.ingestor.accept(headers, body)
        await monitor.journal.wait_async(position)
    except MalformedEvent as exc:
        return Answer(400, {"error": str(exc), "reason": exc.reason})
    except OSError as exc:  # the journal (or Kafka) could not take it: not acknowledged, the logger may retry
        log.error("event not journaled: %s", exc)
        return Answer(503, {"error": "the monitor cannot store events now"})
    except Exception as exc:  # never crash on an event: count it and say so
        log.exception("event could not be ingested")
        with monitor.ingestor.lock:
            monitor.ingestor.malformed["internal"] += 1
        return Answer(400, {"error": f"event not ingested: {type(exc).__name__}"})
    return OK


class EventIntake:
    """``take_event`` as a plain ASGI callable, served ahead of FastAPI's routing."""

    def __init__(self, monitor: Monitor, inflight: InFlight) -> None:
        self.monitor, self.inflight = monitor, inflight

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        from mlpipex import asgi

        try:
            answer = await take_event(self.monitor, self.inflight, asgi.headers_of(scope), asgi.body_chunks(receive),
                                      scope.get("query_string", b"").decode("latin-1"))  # fmt: skip
        except asgi.Disconnected:
            return  # the logger went away mid-body: nothing was taken, nobody to answer
        except Exception:
            await asgi.server_error(send)
            raise
        if answer.content is None:
            await asgi.send_response(send, answer.status, headers=answer.headers)
        else:
            await asgi.send_json(send, answer.status, answer.content, headers=answer.headers)
