"""Built-in handlers: keep the installation ↔ repository map current, and audit changes."""

from __future__ import annotations

from typing import Any

from mlpipex.app.registry import JobContext, register

__all__ = ["on_installation", "on_installation_repositories"]


def _names(repositories: Any) -> list[str]:
    return [r["full_name"] for r in repositories or [] if isinstance(r, dict) and isinstance(r.get("full_name"), str)]


def _actor(payload: dict[str, Any]) -> str:
    sender = payload.get("sender") or {}
    return str(sender.get("login") or "github")


@register("installation")
def on_installation(payload: dict[str, Any], ctx: JobContext) -> None:
    installation = payload["installation"]
    installation_id = int(installation["id"])
    account = (installation.get("account") or {}).get("login")
    action = payload.get("action")
    if action == "created":
        ctx.store.installations.add(installation_id, _names(payload.get("repositories")), account=account)
    elif action == "deleted":
        ctx.store.installations.forget(installation_id)
    ctx.store.audit.record(actor=_actor(payload), action=f"installation.{action}", outcome="recorded",
                           detail=f"installation {installation_id} on {account}")  # fmt: skip


@register("installation_repositories")
def on_installation_repositories(payload: dict[str, Any], ctx: JobContext) -> None:
    installation = payload["installation"]
    installation_id = int(installation["id"])
    account = (installation.get("account") or {}).get("login")
    added, removed = _names(payload.get("repositories_added")), _names(payload.get("repositories_removed"))
    ctx.store.installations.add(installation_id, added, account=account)
    ctx.store.installations.remove(installation_id, removed)
    for name, change in [(n, "added") for n in added] + [(n, "removed") for n in removed]:
        ctx.store.audit.record(actor=_actor(payload), action=f"installation_repositories.{change}", outcome="recorded",
                               repository=name, detail=f"installation {installation_id}")  # fmt: skip
