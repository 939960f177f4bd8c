"""Property-based requests against the App's own OpenAPI description (schemathesis).

No generated request may cause a 5xx, and every answer must match the documented
status codes, content types and schemas. Authenticated operations get the bearer
token, so schemathesis reaches past authentication into validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is missing (pip install -e '.[test]')")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi.checks import negative_data_rejection  # noqa: E402

from mlpipex.app import create_app  # noqa: E402
from mlpipex.app.alert_routes import ALERT_BODY_LIMIT  # noqa: E402
from mlpipex.app.registry import HandlerRegistry  # noqa: E402
from mlpipex.app.settings import Settings  # noqa: E402

from .conftest import SECRET  # noqa: E402

TOKEN = "schemathesis-token"


def _app(directory: Path) -> Any:
    registry = HandlerRegistry()
    for kind in ("issue_comment.created", "alert.drift"):
        registry.register(kind)(lambda payload, ctx: None)
    settings = Settings(webhook_secret=SECRET, alert_token=TOKEN, api_token=TOKEN, worker_threads=0,
                        database_url=f"sqlite:///{directory / 'schemathesis.db'}")  # fmt: skip
    return create_app(settings, registry=registry)


_DIR = Path(__import__("tempfile").mkdtemp(prefix="mlpipex-schemathesis-"))
APP = _app(_DIR)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_description(case: Any) -> None:
    if case.path.startswith("/alerts/") and len(json.dumps(case.body, default=str).encode()) > ALERT_BODY_LIMIT:
        # Too big to read at all (e.g. 10,001 alerts): refused with 413 before validation,
        # which the negative-data check does not count among its rejections.
        assert case.call(headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 413
        return
    case.call_and_validate()  # as generated: every check, authentication included
    if case.path in ("/api/audit", "/alerts/drift", "/alerts/alertmanager"):
        # Again past authentication, into validation. The injected token would make
        # a negative case that only dropped the Authorization header valid, so the
        # negative-data check does not apply to this second call.
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=[negative_data_rejection])
