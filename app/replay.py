"""What a webhook delivery asks the App to do, as a key: one action runs once, however delivered.

``X-GitHub-Delivery`` is not covered by the signature (the HMAC is over the body
only), so anyone who captured one signed body can post it again under a new
delivery id. Deduplicating deliveries by id stops GitHub's redeliveries; this key
stops replays: it names the action itself (this comment's command, this button
press, this merge), and the store records it in the same transaction that queues
the job, so two replicas cannot both accept it (a primary key decides).

Pure: an event name and its payload in, a key (or None: the event's handler is
idempotent by itself) out.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["action_key"]


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def action_key(event: str, payload: dict[str, Any]) -> str | None:
    """The action ``payload`` asks for, e.g. ``issue_comment.created:acme/models:1234:<digest>``."""
    repository = str((payload.get("repository") or {}).get("full_name") or "").lower()
    action = payload.get("action")
    if event == "issue_comment" and action == "created":
        comment = payload.get("comment") or {}
        if (comment_id := _id(comment.get("id"))) is None:
            return None
        # One comment, one command: its id, and the text that holds the command.
        return f"issue_comment.created:{repository}:{comment_id}:{_digest(comment.get('body') or '')}"
    if event == "check_run" and action == "requested_action":
        run = payload.get("check_run") or {}
        identifier = str((payload.get("requested_action") or {}).get("identifier") or "")
        if (run_id := _id(run.get("id"))) is None:
            return None
        # GitHub's payload for a button press carries no id of the press itself: the check
        # run, the button, and the whole signed payload identify it. A replay repeats all
        # three; pressing again after the run changed (or a /promote comment) is a new action.
        return f"check_run.requested_action:{repository}:{run_id}:{identifier}:{_digest(payload)}"
    if event == "pull_request" and action == "closed":
        pull = payload.get("pull_request") or {}
        number = _id(pull.get("number"))
        commit = _id(pull.get("merge_commit_sha")) or _id((pull.get("head") or {}).get("sha"))
        return f"pull_request.closed:{repository}:{number}:{commit}" if number and commit else None
    return None
