"""Group commit: deliveries that arrive together share one transaction, one commit, one fsync.

The App answers a webhook only once its delivery row is durable (SQLite runs with
``synchronous=FULL``: a commit returns after the WAL is on disk). One transaction
per request would pay a commit (and, before, a thread-pool hop) per delivery; here
the request hands its delivery to one writer thread and awaits the outcome. The
writer takes everything that is waiting — up to ``max_batch`` — records it with
``Deliveries.record_many`` and resolves every request of the batch after the
commit. Under light load a batch is one delivery, as before; under heavy load the
commit cost is shared by the batch. If a batch fails (a database error, a deadlock
between two PostgreSQL replicas), each of its deliveries is retried in its own
transaction, so one bad delivery fails only its own request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

log = logging.getLogger("mlpipex.app.store")

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(self, commit: Callable[[Sequence[Item]], list[Result]], *, max_batch: int = 64) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._pending: list[tuple[Item, Future[Result]]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """Record ``item`` with the next batch; returns once that batch is committed."""
        return await asyncio.wrap_future(self.submit_nowait(item))

    def submit_nowait(self, item: Item) -> Future[Result]:
        future: Future[Result] = Future()
        with self._wake:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._pending.append((item, future))
            if self._thread is None:  # started on first use: no lifespan hook needed (tests, TestClient)
                self._thread = threading.Thread(target=self._run, name="mlpipex-group-commit", daemon=True)
                self._thread.start()
            self._wake.notify()
        return future

    def close(self) -> None:
        """Commit what is waiting, then stop the writer."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            self._write(batch)

    def _write(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        try:
            results = self._commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            log.warning("a batch of %d deliveries failed (%s); recording each on its own", len(batch), type(exc).__name__)
            for one in batch:
                self._write([one])
            return
        for (_, future), result in zip(batch, results):
            future.set_result(result)
