"""Webhook payloads as GitHub sends them: a real example (npm @octokit/webhooks-examples) with a
test's fields merged in, so what the tests post passes the App's schema check at intake.

``webhook("issue_comment", {"action": "created", "comment": {...}})`` starts from the first
example of that event and action that GitHub's schema (the App's vendored copy) admits,
and merges the given fields into it: objects key by key, and each object in a list over
the example list's first item (a pull request in ``check_run.pull_requests``, a repository
in ``repositories``), so a test names only what it cares about.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / ".tools" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"


@functools.lru_cache(maxsize=1)
def _examples() -> dict[str, list[dict[str, Any]]]:
    if not EXAMPLES.exists():
        return {}
    return {entry["name"]: entry["examples"] for entry in json.loads(EXAMPLES.read_text())}


@functools.lru_cache(maxsize=64)
def _example(event: str, action: str | None) -> str | None:
    from mlpipex.app.events import job_kind
    from mlpipex.app.webhook_schemas import problems

    candidates = [e for e in _examples().get(event, []) if e.get("action") == action]
    for candidate in candidates:
        if not problems(job_kind(event, candidate), candidate):
            return json.dumps(candidate)
    return json.dumps(candidates[0]) if candidates else None


def merged(base: Any, overrides: Any) -> Any:
    if isinstance(base, dict) and isinstance(overrides, dict):
        out = dict(base)
        for key, value in overrides.items():
            out[key] = merged(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(overrides, list) and base and isinstance(base[0], dict):
        return [merged(base[0], item) if isinstance(item, dict) else item for item in overrides]
    return copy.deepcopy(overrides)


def webhook(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` over GitHub's example of ``event`` and its action (``payload`` alone if there is none)."""
    example = _example(event, payload.get("action"))
    return merged(json.loads(example), payload) if example else payload
