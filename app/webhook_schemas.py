"""GitHub's published webhook schemas, checked at intake for the kinds the App handles.

A signed payload of a handled kind that GitHub's schema (npm
``@octokit/webhooks-schemas``, vendored in webhook_schemas.json by
scripts/vendor_webhook_schemas.py) does not admit is answered 400 and never queued:
a handler would only fail on it, five times. Each kind is validated against its
own definition by ``$ref`` (milliseconds), never against the package's root
``oneOf`` over every event (minutes). Kinds without a vendored schema pass: the App
does not handle them, and routing records them as ignored.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["NOT_REQUIRED", "SOURCE", "problems", "vendored"]

_FILE = Path(__file__).with_name("webhook_schemas.json")
MAX_PROBLEMS = 5  # enough to say what is wrong; a hostile payload can have thousands


@functools.lru_cache(maxsize=1)
def vendored() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_FILE.read_text(encoding="utf-8"))
    return loaded


def _source() -> str:
    source = vendored()["source"]
    return f"{source['package']}@{source['version']}"


SOURCE = _source()


# Properties the community schema requires but GitHub's own example deliveries
# (npm @octokit/webhooks-examples, from real traffic) omit: their absence is not
# refused, or a genuine but older-shaped delivery would be lost. None of them is read
# by a handler. tests/app/test_webhook_examples.py sends every example through intake,
# which keeps this list as short as it can be.
NOT_REQUIRED = frozenset({
    "active_lock_reason", "custom_properties", "description", "is_template", "performed_via_github_app", "reactions",
    "requester", "suspended_at", "suspended_by", "topics", "visibility", "web_commit_signoff_required",
})  # fmt: skip


def _relaxed(node: Any) -> Any:
    """The published schema as the App applies it: fields GitHub adds later are not refused
    (``additionalProperties: false`` is dropped: GitHub adds payload fields without notice,
    and a command must not be lost for one), nor the absence of ``NOT_REQUIRED`` ones.
    Everything present is still checked: types, enums, the required fields handlers read."""
    if isinstance(node, dict):
        # "default" goes too: fastjsonschema writes defaults into the payload it checks.
        out = {k: _relaxed(v) for k, v in node.items() if not (k == "additionalProperties" and v is False) and k != "default"}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in NOT_REQUIRED]
        return out
    if isinstance(node, list):
        return [_relaxed(v) for v in node]
    return node


@functools.lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    relaxed: dict[str, Any] = _relaxed(vendored()["definitions"])
    return relaxed


@functools.lru_cache(maxsize=32)
def _validator(definition: str) -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": _definitions()})


@functools.lru_cache(maxsize=32)
def _fast(definition: str) -> Any:
    """The same check compiled to Python (fastjsonschema): ~0.1 ms for an 11 kB comment
    where jsonschema takes ~1.3 ms. It stops at the first error, so it only says "valid";
    anything else is explained by jsonschema below. Formats are not checked by either."""
    import fastjsonschema

    document = vendored()
    return fastjsonschema.compile({"$schema": document["$schema"], "$ref": f"#/definitions/{definition}",
                                   "definitions": _definitions()}, use_formats=False)  # fmt: skip


def problems(kind: str, payload: dict[str, Any]) -> list[str]:
    """What GitHub's schema for ``kind`` says is wrong with ``payload`` (empty: valid, or not a kind we check)."""
    import fastjsonschema

    definition = vendored()["kinds"].get(kind)
    if definition is None:
        return []
    try:
        _fast(definition)(payload)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # say exactly what: jsonschema lists every error with its path
    found = []
    for error in _validator(definition).iter_errors(payload):
        where = "/".join(str(part) for part in error.absolute_path) or "(the payload)"
        found.append(f"{where}: {error.message[:200]}")
        if len(found) == MAX_PROBLEMS:
            break
    return found
