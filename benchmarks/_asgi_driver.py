"""CPU per request of an ASGI application called directly, no HTTP: the figure other work on a shared
machine moves least (the HTTP server's own cost, the same for both sides of a comparison, is left out).

``cpu_per_request(app, requests, in_flight)`` sends ``requests`` — (path, headers, body) built fresh for
each call — ``in_flight`` at a time on one event loop, and returns the process's CPU µs per request
(all threads: a writer thread's work counts) and the statuses seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

Request = tuple[str, dict[str, str], bytes]


async def _call(app: Any, request: Request, statuses: list[int]) -> None:
    path, headers, body = request
    raw = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    await app(scope, receive, send)


async def _run(app: Any, make: Callable[[int], Sequence[Request]], count: int, in_flight: int) -> list[int]:
    statuses: list[int] = []
    done = 0
    while done < count:
        # wave k: the k-th request of each of ``in_flight`` items, all at once
        for wave in zip(*(make(i) for i in range(done, done + in_flight))):
            await asyncio.gather(*(_call(app, r, statuses) for r in wave))
        done += in_flight
    return statuses


def cpu_per_request(app: Any, make: Callable[[int], Sequence[Request]], count: int, *, in_flight: int = 64,
                    repeats: int = 3) -> tuple[list[float], set[int]]:  # fmt: skip
    """CPU µs per request of each of ``repeats`` runs (after a warm-up), and the statuses seen.

    ``make(i)`` gives the requests of item ``i`` (one delivery, or a request/response pair sent in two
    waves so a response never overtakes its request)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_run(app, make, max(in_flight, count // 10), in_flight))
        results, seen = [], set()
        for _ in range(repeats):
            started = time.process_time()
            statuses = loop.run_until_complete(_run(app, make, count, in_flight))
            results.append((time.process_time() - started) / len(statuses) * 1e6)
            seen |= set(statuses)
        return results, seen
    finally:
        loop.close()
