"""An ASGI middleware in front of KServe's model server: body-size limit and JSON by default.

- A body over ``max_body_bytes`` is answered 413 before KServe reads it (KServe has
  no limit: a 17 MiB body was parsed and served).
- ``curl -d '{…}'`` sends ``Content-Type: application/x-www-form-urlencoded``, which
  KServe's v2 endpoint takes for its binary extension ("'inference-header-content-
  length' header is missing"). A POST whose body is a JSON object and whose type is
  form-encoded or absent is passed on as ``application/json``; binary requests (which
  carry the ``inference-header-content-length`` header) are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["RequestGuard", "describe_validation_errors"]

DRAIN_BYTES = 64 * 1024 * 1024  # a refused body is read (and dropped) up to this, then the connection closes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_FORM = b"application/x-www-form-urlencoded"


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _drain(receive, int(declared))
            await self._too_large(send, int(declared))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:  # chunked, or a lying Content-Length
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_BYTES)
                await self._too_large(send, size)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type in (b"", _FORM) and b"inference-header-content-length" not in headers and _is_json(body):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                     + [(b"content-type", b"application/json")]}  # fmt: skip
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # waits for the disconnect, as the server would
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int) -> None:
        text = json.dumps({"error": f"request body is {size} bytes; the limit is {self.max_body_bytes} "
                                    "(mlpipex serve --max-body-size)"}).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(text)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": text})


async def _drain(receive: Receive, up_to: int) -> None:
    """Read and drop the rest of a refused body (up to a bound), so the client reads the 413
    instead of a connection reset mid-upload."""
    read = 0
    while read < min(up_to, DRAIN_BYTES):
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _is_json(body: bytes) -> bool:
    if not body.lstrip().startswith(b"{"):
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def describe_validation_errors(errors: list[dict[str, Any]]) -> str:
    """FastAPI's 422 detail for a v2 body, as one line naming the field: ``inputs[0].shape: Field required``.

    KServe types the body as ``InferenceRequest | bytes``, so every error comes twice;
    the ``bytes`` branch says nothing useful about a JSON body and is dropped.
    """
    lines = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body", "InferenceRequest")]
        if loc[:1] == ["bytes"]:
            continue
        path = ""
        for part in loc:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        lines.append(f"{path or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(dict.fromkeys(lines)) or "the body is not an inference request"
