"""Fixtures for the monitor: a real server on loopback (uvicorn in a thread)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _kserve_events import free_port


class RunningMonitor:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the monitor did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def monitor(self) -> Any:
        return self.app.state.monitor

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve_monitor() -> Iterator[Callable[..., RunningMonitor]]:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from mlpipex.monitor import create_monitor_app

    running: list[RunningMonitor] = []

    def start(settings: Any, **kwargs: Any) -> RunningMonitor:
        server = RunningMonitor(create_monitor_app(settings, **kwargs))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
