"""Fixtures for the monitor: a real server on loopback (uvicorn in a thread), and KServe's own logger."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
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


LOGGER_MODULE = Path(__file__).resolve().parent / "kserve_logger"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kserve_logger() -> Path:
    """KServe's payload logger (pkg/logger, the version in kserve_logger/go.mod) as a program.

    Built once into .cache-go/kserve-logger@VERSION/STAMP/ (about 45 s on a fresh machine with
    Go's module cache warm, a few minutes cold), keyed by the program's sources and the Go
    version; later runs reuse it.
    """
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to run KServe's logger code (the machines have it: see TOOLING.md)")
    env = {**os.environ, "GOFLAGS": "-buildvcs=false"}
    version = subprocess.run([go, "list", "-m", "-f", "{{.Version}}", "github.com/kserve/kserve"], cwd=LOGGER_MODULE,
                             env=env, capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    go_version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    stamp = hashlib.sha256(go_version.encode() + b"".join(
        (LOGGER_MODULE / name).read_bytes() for name in ("go.mod", "go.sum", "main.go"))).hexdigest()[:16]  # fmt: skip
    # Keyed by the sources too: worktrees with another main.go share .cache-go without rebuilding each other's.
    out = REPO / ".cache-go" / f"kserve-logger@{version}" / stamp
    out.mkdir(parents=True, exist_ok=True)
    binary = out / "kserve-logger"
    with open(out / ".lock", "w") as lock:  # one build when several test processes start at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (binary.exists() and (out / ".stamp").exists() and (out / ".stamp").read_text() == stamp):
            built = subprocess.run([go, "build", "-trimpath", "-o", str(binary), "."], cwd=LOGGER_MODULE, env=env,
                                   capture_output=True, text=True, timeout=1200)  # fmt: skip
            if built.returncode != 0:
                pytest.fail(f"building KServe's logger failed:\n{built.stderr[-3000:]}")
            (out / ".stamp").write_text(stamp)
    return binary


@pytest.fixture(scope="session")
def kafka_broker() -> Any:
    """A real Apache Kafka broker (KRaft, one node, loopback) for the session; fails in CI if it cannot run."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from kafka_broker.broker import shared

    return shared()
