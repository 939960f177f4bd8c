"""Pure decisions about a verified webhook: its job kind, and whether it may act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Routing", "job_kind", "route"]


def job_kind(event: str, payload: dict[str, Any]) -> str:
    """``issue_comment`` + ``"action": "created"`` → ``issue_comment.created``; ``push`` → ``push``."""
    action = payload.get("action")
    return f"{event}.{action}" if isinstance(action, str) and action else event


def repository_of(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository")
    if isinstance(repository, dict) and isinstance(repository.get("full_name"), str):
        return str(repository["full_name"])
    return None


def installation_of(payload: dict[str, Any]) -> int | None:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return int(installation["id"])
    return None


@dataclass(frozen=True)
class Routing:
    kind: str
    repository: str | None
    installation_id: int | None
    queue: bool  # False: recorded and ignored
    reason: str | None


def route(event: str, payload: dict[str, Any], *, allowed: Any, handles: Any) -> Routing:
    """Decide what to do with a verified delivery.

    ``allowed(repository) -> bool`` is the repository allow-list; ``handles(kind) -> bool``
    says whether any handler takes the kind. Events for a repository outside the
    list, and kinds nobody handles, are recorded and ignored.
    """
    kind = job_kind(event, payload)
    repository = repository_of(payload)
    installation_id = installation_of(payload)
    if repository is not None and not allowed(repository):
        return Routing(kind, repository, installation_id, False, f"repository {repository} is not in MLPIPEX_ALLOWED_REPOSITORIES")
    if not handles(kind):
        return Routing(kind, repository, installation_id, False, f"no handler for {kind}")
    return Routing(kind, repository, installation_id, True, None)
