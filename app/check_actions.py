"""``check_run.requested_action``: the gate check run's "Promote" and "Rollback" buttons.

They become the same commands a comment would, for the person who pressed them,
and go through the same authorisation, lock and records (commanding.execute).
"""

from __future__ import annotations

from typing import Any

from mlpipex.app.chatops import Command
from mlpipex.app.commanding import Request, execute
from mlpipex.app.registry import JobContext, register
from mlpipex.providers.checks import CHECK_ACTIONS, model_of_check

__all__ = ["ACTIONS", "on_requested_action"]

ACTIONS = {a.identifier: a.command for a in CHECK_ACTIONS}  # the buttons `mlpipex gate` puts on its check run


@register("check_run.requested_action")
def on_requested_action(payload: dict[str, Any], ctx: JobContext) -> None:
    identifier = (payload.get("requested_action") or {}).get("identifier")
    run = payload.get("check_run") or {}
    name = str(run.get("name", ""))
    model = model_of_check(name)
    if identifier not in ACTIONS or model is None:
        return  # another app's check run, or a button we do not have
    trusted = ctx.settings.trusted_gate_apps() if ctx.settings else frozenset()
    if (run.get("app") or {}).get("id") not in trusted:
        # GitHub sends a button press to the App that created the run, but a run named like
        # ours by another App is no gate of ours: its buttons deploy nothing.
        ctx.log.warning("check run %s is not by the App (app id %s): its button is ignored", run.get("id"),
                        (run.get("app") or {}).get("id"))  # fmt: skip
        return
    pulls = run.get("pull_requests") or []
    number = int(pulls[0]["number"]) if pulls else None
    command = Command(ACTIONS[identifier], model=model, line=f"{ACTIONS[identifier]} (the check run's button)")
    actor = str((payload.get("sender") or {}).get("login"))
    execute(Request(payload["repository"]["full_name"], number, actor, command, is_pull=number is not None), ctx)
