"""One base for the tests' fake HTTP servers (GitHub, GitLab, Kubernetes, the OCI registry,
the alert receiver, the Prometheus scrape target).

Each fake is a ``ThreadingHTTPServer`` on a free loopback port, served from a daemon thread:
other test runs share the machine, so nothing binds a fixed port or a public address. A fake
defines its request handler and hands it here; this class owns the port, the URLs, the
start and the stop (shutdown, close the socket, join the thread), as a context manager.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

__all__ = ["FakeServer", "free_port"]

_Server = TypeVar("_Server", bound="FakeServer")


def free_port() -> int:
    """A loopback port free right now (for a server that needs its port before it starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeServer:
    """``handler`` served on 127.0.0.1: ``port``, ``address`` (host:port), ``url`` (http://host:port)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = int(self.server.server_address[1])
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self: _Server) -> _Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
