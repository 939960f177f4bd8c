"""Job handlers by kind, and the context each one runs with.

A job kind is the webhook event and its action (``issue_comment.created``,
``pull_request.closed``, ``check_run.requested_action``), the bare event for events
without an action (``push``), or an internal kind (``alert.drift``). Handlers
register in a module listed in ``HANDLER_MODULES``::

    from mlpipex.app import register

    @register("issue_comment.created")
    def on_comment(payload: dict, ctx: JobContext) -> None:
        gh = ctx.github()                      # this installation's client
        with ctx.store.locks.held(f"{repo}/{model}", holder=...): ...
        ctx.store.audit.record(actor=..., action="promote", outcome="succeeded", ...)

A handler returns normally when it is done. Raising retries the job with
exponential backoff (up to the job's max attempts, then ``dead``);
``PermanentJobError`` sends it to ``dead`` at once (retrying cannot help). Jobs can
run more than once (a worker killed mid-job is replaced): a handler either is
idempotent or records its steps with ``ctx.save_progress`` and reads
``ctx.progress`` to resume.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from github import Github

    from mlpipex.app.settings import Settings
    from mlpipex.app.store import Job, Store

__all__ = [
    "HANDLER_MODULES",
    "Handler",
    "HandlerRegistry",
    "JobContext",
    "PermanentJobError",
    "default_registry",
    "load_handler_modules",
    "register",
]

# Modules whose import registers handlers on ``default_registry`` (add yours here).
HANDLER_MODULES: tuple[str, ...] = (
    "mlpipex.app.installations",
    "mlpipex.app.comments",
    "mlpipex.app.check_actions",
    "mlpipex.app.merges",
    "mlpipex.app.canary_jobs",
    "mlpipex.app.retraining",
    "mlpipex.app.retrain_requests",
    "mlpipex.app.schedules",
)


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help: the job goes straight to ``dead``."""


@dataclass
class JobContext:
    """What a handler gets besides the payload.

    ``store``: locks, audit, jobs, installations (see ``mlpipex.app.store``).
    ``github_for(installation_id)``: a PyGithub client authenticated as that installation
    (tokens cached until shortly before they expire). ``github()``: the same for this
    job's installation (from ``payload["installation"]["id"]``, or the repository's).
    """

    job: Job
    store: Store
    settings: Settings | None
    github_for: Callable[[int], Github]
    save: Callable[[dict[str, Any]], bool]
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("mlpipex.app.jobs"))

    @property
    def job_id(self) -> int:
        return self.job.id

    @property
    def delivery_id(self) -> str | None:
        """The ``X-GitHub-Delivery`` this job came from (None for alerts and internal jobs)."""
        key = self.job.dedupe_key or ""
        return key.removeprefix("github-delivery:") if key.startswith("github-delivery:") else None

    @property
    def attempt(self) -> int:
        """1 on the first run, 2 on the first retry, …"""
        return self.job.attempts

    @property
    def progress(self) -> dict[str, Any]:
        """What earlier attempts recorded with ``save_progress`` (empty on the first)."""
        return dict(self.job.progress or {})

    def save_progress(self, progress: dict[str, Any]) -> None:
        """Record progress durably; raises if this worker lost the job (it must stop)."""
        if not self.save(progress):
            raise PermanentJobError("this worker's lease on the job was lost; another worker owns it now")

    @property
    def installation_id(self) -> int | None:
        installation = self.job.payload.get("installation") or {}
        if isinstance(installation, dict) and isinstance(installation.get("id"), int):
            return int(installation["id"])
        repository = (self.job.payload.get("repository") or {})
        name = repository.get("full_name") if isinstance(repository, dict) else repository
        return self.store.installations.installation_for(name) if isinstance(name, str) else None

    def github(self) -> Github:
        installation_id = self.installation_id
        if installation_id is None:
            raise PermanentJobError(f"job {self.job.id} ({self.job.kind}) names no installation and the App "
                                    "knows none for its repository")  # fmt: skip
        return self.github_for(installation_id)


class Handler(Protocol):
    def __call__(self, payload: dict[str, Any], ctx: JobContext) -> None: ...


class HandlerRegistry:
    """Maps job kinds to handlers. A handler registered for a bare event name
    (``"installation"``) receives every action of it without one of its own."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, *kinds: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            for kind in kinds:
                if kind in self._handlers and self._handlers[kind] is not handler:
                    raise ValueError(f"a handler for {kind!r} is already registered: {self._handlers[kind]!r}")
                self._handlers[kind] = handler
            return handler

        return decorate

    def add(self, kind: str, handler: Handler) -> None:
        self.register(kind)(handler)

    def get(self, kind: str) -> Handler | None:
        return self._handlers.get(kind) or self._handlers.get(kind.split(".", 1)[0])

    def handles(self, kind: str) -> bool:
        return self.get(kind) is not None

    def kinds(self) -> list[str]:
        return sorted(self._handlers)


default_registry = HandlerRegistry()
register = default_registry.register


def load_handler_modules(modules: tuple[str, ...] = HANDLER_MODULES) -> HandlerRegistry:
    """Import the handler modules (registering their handlers) and return the default registry."""
    for module in modules:
        importlib.import_module(module)
    return default_registry
