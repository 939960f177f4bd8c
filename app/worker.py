"""Claims jobs from the store and runs their handlers, in threads inside the App process.

Each thread claims one job at a time with a lease it renews while the handler runs
(a heartbeat every third of the lease). A process that is killed stops renewing;
its jobs become claimable again when their leases expire, by this replica after a
restart or by another one. ``wake()`` lets the webhook endpoint start a job at once
instead of at the next poll.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlpipex.app.logs import log_event
from mlpipex.app.registry import HandlerRegistry, JobContext, PermanentJobError

if TYPE_CHECKING:
    from github import Github

    from mlpipex.app.settings import Settings
    from mlpipex.app.store import Job, Store

__all__ = ["PERMANENT", "Worker"]

# Errors that say the job itself is wrong, not that the world was briefly unavailable.
# Payloads are schema-checked at intake (mlpipex.app.webhook_schemas), so these mean a
# payload GitHub's schema allows but a handler cannot use, or a bug: retrying repeats them.
PERMANENT: tuple[type[Exception], ...] = (KeyError, ValueError, TypeError)

log = logging.getLogger("mlpipex.app.worker")


def _delivery_of(job: Job) -> str | None:
    key = job.dedupe_key or ""
    return key.removeprefix("github-delivery:") if key.startswith("github-delivery:") else None


def _no_github(installation_id: int) -> Github:
    raise PermanentJobError("the App has no GitHub credentials: set MLPIPEX_APP_ID and MLPIPEX_PRIVATE_KEY_PATH")


class Worker:
    def __init__(self, store: Store, registry: HandlerRegistry, *, github_for: Callable[[int], Github] | None = None,
                 settings: Settings | None = None, threads: int = 1, lease_seconds: float = 60.0,
                 poll_interval: float = 1.0, name: str | None = None, retention_days: float | None = None,
                 prune_every: float = 3600.0) -> None:  # fmt: skip
        self.store = store
        self.registry = registry
        self.github_for = github_for or _no_github
        self.settings = settings
        self.threads = threads
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.retention_days = retention_days
        self.prune_every = prune_every
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        for index in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(f"{self.name}#{index}",),
                                      name=f"mlpipex-worker-{index}", daemon=True)  # fmt: skip
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; wait up to ``timeout`` for running handlers to finish."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self, owner: str) -> None:
        while not self._stop.is_set():
            if owner.endswith("#0"):
                self._maybe_prune()
            try:
                ran = self.run_once(owner)
            except Exception:  # the database went away: keep the thread, try again later
                log.exception("worker %s could not claim a job", owner)
                ran = False
            if not ran:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def _maybe_prune(self) -> None:
        if self.retention_days is None or time.monotonic() - self._pruned_at < self.prune_every:
            return
        self._pruned_at = time.monotonic()
        try:
            removed = self.store.prune(self.retention_days)
            if any(removed.values()):
                log.info("pruned %s deliveries and %s finished jobs", removed["deliveries"], removed["jobs"])
        except Exception:
            log.warning("pruning old deliveries and jobs failed", exc_info=True)

    # -- one job -----------------------------------------------------------
    def run_once(self, owner: str | None = None) -> bool:
        """Claim and run one due job; False when there was none."""
        owner = owner or f"{self.name}#once"
        job = self.store.jobs.claim(owner, lease_seconds=self.lease_seconds)
        if job is None:
            return False
        self._run(job, owner)
        return True

    def _run(self, job: Job, owner: str) -> None:
        handler = self.registry.get(job.kind)
        fields = dict(job=job.id, kind=job.kind, attempt=job.attempts, delivery=_delivery_of(job), worker=owner)
        if handler is None:
            self.store.jobs.fail(job, owner, f"no handler is registered for job kind {job.kind!r}", retry=False)
            log_event(log, "job", level=logging.ERROR, **fields, outcome="dead", error=f"no handler for {job.kind}")
            return
        ctx = JobContext(job=job, store=self.store, settings=self.settings, github_for=self.github_for,
                         save=lambda progress: self.store.jobs.save_progress(job.id, owner, progress))  # fmt: skip
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job.id, owner, done), daemon=True)
        beat.start()
        started = time.monotonic()
        error: str | None = None
        try:
            handler(job.payload, ctx)
        except (PermanentJobError, *PERMANENT) as exc:
            # Retrying cannot help: a handler's own verdict, or a payload it cannot read
            # (a missing key, a bad value): dead-lettered at once instead of five times.
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            status = self.store.jobs.fail(job, owner, error, retry=False)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            status = self.store.jobs.fail(job, owner, error)
        else:
            status = "done" if self.store.jobs.complete(job.id, owner) else "lost"
        finally:
            done.set()
            beat.join()
        level = logging.INFO if status == "done" else logging.WARNING
        log_event(log, "job", level=level, **fields, outcome=status, seconds=round(time.monotonic() - started, 3),
                  error=error.splitlines()[0][:300] if error else None)  # fmt: skip

    def _heartbeat(self, job_id: int, owner: str, done: threading.Event) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not done.wait(interval):
            try:
                if not self.store.jobs.heartbeat(job_id, owner, lease_seconds=self.lease_seconds):
                    return
            except Exception:  # a missed beat is survivable; the next one may succeed
                log.debug("heartbeat for job %s failed", job_id, exc_info=True)

    def status(self) -> dict[str, Any]:
        return {"threads": self.threads, "alive": self.alive, "name": self.name}
