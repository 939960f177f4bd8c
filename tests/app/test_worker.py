"""The worker: dispatch by kind, retries to dead letters, and a SIGKILLed process's job resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mlpipex.app.registry import HandlerRegistry, JobContext, PermanentJobError
from mlpipex.app.store import Store
from mlpipex.app.worker import Worker

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A handler that records what it ran, failing the first ``fail_times`` calls."""

    def __init__(self, fail_times: int = 0, exc: type[Exception] = RuntimeError) -> None:
        self.calls: list[tuple[int, int, dict[str, Any]]] = []
        self.fail_times = fail_times
        self.exc = exc
        self.done = threading.Event()

    def __call__(self, payload: dict[str, Any], ctx: JobContext) -> None:
        self.calls.append((ctx.job_id, ctx.attempt, payload))
        if len(self.calls) <= self.fail_times:
            raise self.exc(f"failure {len(self.calls)}")
        self.done.set()


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_run_once_dispatches_by_kind(store: Store) -> None:
    registry = HandlerRegistry()
    comments, installs = Recorder(), Recorder()
    registry.register("issue_comment.created")(comments)
    registry.register("installation")(installs)  # every installation action
    store.jobs.enqueue("issue_comment.created", {"n": 1})
    store.jobs.enqueue("installation.deleted", {"n": 2})
    worker = Worker(store, registry)
    assert worker.run_once() and worker.run_once() and not worker.run_once()
    assert [c[2] for c in comments.calls] == [{"n": 1}] and [c[2] for c in installs.calls] == [{"n": 2}]
    assert store.jobs.counts()["done"] == 2


def test_failures_retry_then_dead_letter(store: Store, clock: Any) -> None:
    registry = HandlerRegistry()
    always = Recorder(fail_times=99)
    registry.register("k")(always)
    job_id, _ = store.jobs.enqueue("k", {})  # the fixture's store allows 3 attempts
    worker = Worker(store, registry)
    for _ in range(3):
        assert worker.run_once()
        clock.advance(3600)
    assert not worker.run_once()
    job = store.jobs.get(job_id)
    assert job.status == "dead" and job.attempts == 3 and "RuntimeError: failure 3" in job.last_error
    assert [c[1] for c in always.calls] == [1, 2, 3]


def test_permanent_errors_and_unknown_kinds_are_dead_at_once(store: Store) -> None:
    registry = HandlerRegistry()
    registry.register("k")(Recorder(fail_times=1, exc=PermanentJobError))
    a, _ = store.jobs.enqueue("k", {})
    b, _ = store.jobs.enqueue("nobody.handles", {})
    worker = Worker(store, registry)
    worker.run_once(), worker.run_once()
    assert store.jobs.get(a).status == "dead" and store.jobs.get(a).attempts == 1
    assert "no handler" in store.jobs.get(b).last_error


def test_worker_threads_run_queued_jobs(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_schema()
    registry = HandlerRegistry()
    seen: list[int] = []
    lock = threading.Lock()

    def handler(payload: dict[str, Any], ctx: JobContext) -> None:
        with lock:
            seen.append(payload["i"])

    registry.register("k")(handler)
    worker = Worker(store, registry, threads=3, poll_interval=0.05)
    worker.start()
    try:
        for i in range(30):
            store.jobs.enqueue("k", {"i": i})
        worker.wake()
        _wait(lambda: store.jobs.counts()["done"] == 30)
    finally:
        worker.stop()
    assert sorted(seen) == list(range(30)), "every job ran exactly once"


def test_the_heartbeat_keeps_a_long_job_from_being_stolen(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_schema()
    registry = HandlerRegistry()
    registry.register("slow")(lambda payload, ctx: time.sleep(1.0))
    job_id, _ = store.jobs.enqueue("slow", {})
    worker = Worker(store, registry, lease_seconds=0.3)
    thread = threading.Thread(target=worker.run_once, args=("w1",))
    thread.start()
    time.sleep(0.6)  # two leases long: without heartbeats another worker could claim it
    assert store.jobs.claim("w2", lease_seconds=0.3) is None
    thread.join()
    assert store.jobs.get(job_id).status == "done" and store.jobs.get(job_id).attempts == 1


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mlpipex.app.registry import HandlerRegistry
    from mlpipex.app.store import Store
    from mlpipex.app.worker import Worker

    url, marker = sys.argv[1], Path(sys.argv[2])
    registry = HandlerRegistry()

    @registry.register("rollout")
    def rollout(payload, ctx):
        ctx.save_progress({"step": "canary at 10%"})
        marker.write_text(str(ctx.job_id))
        time.sleep(600)  # killed here, mid-job

    Worker(Store.from_url(url), registry, lease_seconds=1.0).run_once("child")
""")


@pytest.mark.timeout(60)
def test_a_job_whose_process_was_killed_resumes_after_restart(database_url: str, tmp_path: Path) -> None:
    store = Store.from_url(database_url)
    store.create_schema()
    job_id, _ = store.jobs.enqueue("rollout", {"model": "churn"})
    marker = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", CHILD, database_url, str(marker)], cwd=ROOT,
                             env=os.environ | {"PYTHONPATH": str(ROOT)})  # fmt: skip
    try:
        _wait(lambda: marker.exists() or child.poll() is not None, timeout=30)
        assert child.poll() is None, "the child exited before being killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert store.jobs.get(job_id).status == "running", "killed mid-job: still leased to the dead process"

    resumed: list[tuple[int, dict[str, Any]]] = []
    registry = HandlerRegistry()
    registry.register("rollout")(lambda payload, ctx: resumed.append((ctx.attempt, ctx.progress)))
    restarted = Worker(store, registry, lease_seconds=1.0)
    _wait(lambda: restarted.run_once(), timeout=10)  # claimable once the dead process's lease expires
    assert resumed == [(2, {"step": "canary at 10%"})]
    assert store.jobs.get(job_id).status == "done"
    store.close()


@pytest.mark.parametrize("exc", [KeyError, ValueError, TypeError])
def test_a_payload_the_handler_cannot_read_is_dead_at_once(store: Store, exc: type[Exception]) -> None:
    """Issue 12, item 10: KeyError/ValueError mean the job is wrong; five retries would repeat them."""
    registry = HandlerRegistry()
    handler = Recorder(fail_times=10, exc=exc)
    registry.register("issue_comment.created")(handler)
    job_id, _ = store.jobs.enqueue("issue_comment.created", {"n": 1})
    assert Worker(store, registry).run_once()
    job = store.jobs.get(job_id)
    assert job is not None and job.status == "dead" and job.attempts == 1 and exc.__name__ in (job.last_error or "")
    assert len(handler.calls) == 1
