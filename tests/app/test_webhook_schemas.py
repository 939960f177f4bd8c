"""Issue 12, item 10: payloads of the kinds the App handles are checked against GitHub's published
webhook schemas at intake (400, nothing queued), from a vendored copy equal to npm's."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from providers.github_webhooks import webhook

from mlpipex.app import create_app
from mlpipex.app.registry import HandlerRegistry
from mlpipex.app.settings import Settings
from mlpipex.app.webhook_schemas import problems, vendored

from .conftest import SECRET, body_of, signed_headers

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / ".tools" / "node_modules" / "@octokit" / "webhooks-schemas"
COMMENT = webhook("issue_comment", {"action": "created", "comment": {"body": "/rollback"}})
MERGE = webhook("pull_request", {"action": "closed"})
BUTTON = webhook("check_run", {"action": "requested_action"})


def _vendor_script() -> Any:
    spec = importlib.util.spec_from_file_location("vendor_webhook_schemas", ROOT / "scripts" / "vendor_webhook_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (PACKAGE / "package.json").exists(), reason="npm @octokit/webhooks-schemas is missing (scripts/test.sh installs it)")
def test_the_vendored_schemas_are_the_npm_package_s() -> None:
    script = _vendor_script()
    extracted = script.extract(PACKAGE)
    assert script.render(extracted) == (ROOT / "app" / "webhook_schemas.json").read_text(), (
        "app/webhook_schemas.json is stale: run python scripts/vendor_webhook_schemas.py")
    installed = json.loads((PACKAGE / "schema.json").read_text())["definitions"]
    assert all(vendored()["definitions"][name] == installed[name] for name in vendored()["definitions"])
    assert vendored()["source"]["version"] == json.loads((PACKAGE / "package.json").read_text())["version"]


def without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(payload)
    node = broken
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return broken


def replaced(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(payload)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


HOSTILE = [
    ("issue_comment", without(COMMENT, "comment", "id"), "comment: 'id' is a required property"),
    ("issue_comment", without(COMMENT, "issue"), "'issue' is a required property"),
    ("issue_comment", replaced(COMMENT, "12; DROP TABLE jobs", "comment", "id"), "comment/id"),
    ("issue_comment", replaced(COMMENT, None, "repository"), "repository"),
    ("issue_comment", replaced(COMMENT, ["x"], "comment", "body"), "comment/body"),
    ("pull_request", without(MERGE, "pull_request", "head"), "'head' is a required property"),
    ("pull_request", replaced(MERGE, "yes", "pull_request", "merged"), "pull_request/merged"),
    ("check_run", without(BUTTON, "requested_action"), "'requested_action' is a required property"),
    ("check_run", replaced(BUTTON, "many", "check_run", "pull_requests"), "check_run/pull_requests"),
]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    registry = HandlerRegistry()
    for kind in ("issue_comment.created", "pull_request.closed", "check_run.requested_action"):
        registry.register(kind)(lambda payload, ctx: None)
    settings = Settings(webhook_secret=SECRET, worker_threads=0, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    return TestClient(create_app(settings, registry=registry))


@pytest.mark.parametrize(("event", "payload", "says"), HOSTILE, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(HOSTILE)])
def test_a_signed_payload_the_schema_refuses_is_400_and_nothing_is_queued(client, event, payload, says) -> None:
    body = body_of(payload)
    reply = client.post("/webhooks/github", content=body, headers=signed_headers(body, event, "d-hostile"))
    assert reply.status_code == 400, reply.text
    assert "webhook schema (@octokit/webhooks-schemas@" in reply.json()["detail"] and says in reply.json()["detail"]
    store = client.app.state.mlpipex.store
    assert store.jobs.list() == [] and store.deliveries.get("d-hostile") is None


def test_valid_payloads_pass_unchanged_and_new_fields_are_not_refused() -> None:
    for kind, payload in (("issue_comment.created", COMMENT), ("pull_request.closed", MERGE), ("check_run.requested_action", BUTTON)):
        before = copy.deepcopy(payload)
        assert problems(kind, payload) == []
        assert payload == before  # the compiled validator fills no defaults into what is queued
    newer = replaced(COMMENT, {"field": "GitHub added later"}, "comment", "something_new")
    assert problems("issue_comment.created", newer) == []
    assert problems("push", {"anything": 1}) == []  # not a kind the App handles: routing ignores it
