"""The dashboard's retrain button: ask the App to open the model's retraining pull request.

The request takes the drift alerts' way to the App: its alert intake
(``POST /alerts/retrain``, next to the ``/alerts/drift`` of ``monitoring.alerts.url``)
with the alert token, and the App runs the same ``request_retraining`` as for drift
alerts, the schedule and ``/retrain``. Who pressed the button is the name of the
monitor token they signed in with (token scope ``retrain``); the App's audit log
records it.

CSRF: the dashboard signs in with HTTP Basic, which a browser sends again with any
request to the monitor, a form posted from another site included. So each button's
form carries a token, HMAC(this process's key, nonce, token name, model), whose nonce
is also a ``SameSite=Strict`` cookie set with the dashboard: a cross-site post has
neither the cookie nor a way to compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any

from mlpipex.monitor._auth import Token
from mlpipex.monitor._ingest import ModelInfo
from mlpipex.monitor._settings import MonitorSettings

__all__ = ["COOKIE", "SCOPE", "RetrainButtons", "retrain_url"]

SCOPE = "retrain"
COOKIE = "mlpipex_csrf"
MAX_FORM = 4096  # bytes: a model name and a token


def retrain_url(alerts_url: str) -> str:
    """``https://app/alerts/drift`` → ``https://app/alerts/retrain`` (the intake's sibling route)."""
    return urllib.parse.urljoin(alerts_url, "retrain")


class RetrainButtons:
    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self._key = secrets.token_bytes(32)  # per process: a restart invalidates open forms (reload)

    def new_nonce(self) -> str:
        return secrets.token_urlsafe(24)

    def form_token(self, nonce: str, who: Token, model: str) -> str:
        message = json.dumps([nonce, who.name, model]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def valid(self, nonce: str | None, who: Token, model: str, presented: str) -> bool:
        return bool(nonce) and hmac.compare_digest(self.form_token(str(nonce), who, model), presented)

    def offered(self, model: ModelInfo | None) -> bool:
        """A button needs somewhere to send it: the App's URL and the model's repository."""
        return bool(self.settings.alerts.url and model is not None and model.repository)

    def form(self, nonce: str, who: Token, service: str) -> str:
        token = self.form_token(nonce, who, service)
        return ('<form class="retrain" method="post" action="dashboard/retrain">'
                f'<input type="hidden" name="model" value="{html.escape(service)}">'
                f'<input type="hidden" name="csrf" value="{token}">'
                f'<button type="submit" data-model="{html.escape(service)}">Retrain {html.escape(service)}</button>'
                "</form>")  # fmt: skip

    def request_body(self, who: Token, model: ModelInfo) -> dict[str, Any]:
        return {"id": f"dashboard-{uuid.uuid4().hex}", "model": model.service, "repository": model.repository,
                "environment": model.environment or "production", "requested_by": who.name,
                "reason": f"requested from the monitor's dashboard by {who.name}"}  # fmt: skip

    def send(self, body: dict[str, Any], token: str | None) -> tuple[int, str]:
        """POST the request to the App; its status and a one-line answer (blocking: run in a thread)."""
        url = retrain_url(str(self.settings.alerts.url))
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "mlpipex-monitor", "Idempotency-Key": body["id"]})  # fmt: skip
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(300).decode("utf-8", "replace")
        except (OSError, ValueError) as exc:
            return 0, f"the App did not answer: {exc}"


def parse_form(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body's first value per field."""
    fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def answer_page(title: str, detail: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body><h1 class="retrain-result">{html.escape(title)}</h1><p>{html.escape(detail)}</p>'
            '<p><a href="../dashboard">Back to the dashboard</a></p></body></html>')  # fmt: skip


def press(buttons: RetrainButtons, models: Mapping[str, ModelInfo], who: Token | None, raw: bytes,
          nonce: str | None) -> tuple[int, str]:  # fmt: skip
    """A POSTed button press: the HTTP status and page to answer (blocking: run in a thread)."""
    if who is None:
        return 403, answer_page("Sign-in needed", "retraining from the dashboard needs the monitor's authentication "
                                                  "on (a token with the retrain scope): who pressed it is recorded")  # fmt: skip
    if len(raw) > MAX_FORM:
        return 413, answer_page("Request too large", f"a button's form is under {MAX_FORM} bytes")
    form = parse_form(raw)
    service = form.get("model", "")
    if not buttons.valid(nonce, who, service, form.get("csrf", "")):
        return 403, answer_page("Form expired", "the form is from an older dashboard or another site: "
                                                "reload the dashboard and press the button again")  # fmt: skip
    model = models.get(service)
    if model is None or not buttons.offered(model):
        return 404, answer_page("No retraining here", f"{service} has no repository or the App's URL is not set")
    body = buttons.request_body(who, model)
    status, text = buttons.send(body, os.environ.get(buttons.settings.alerts.token_env))
    if status == 202:
        return 202, answer_page(f"Retraining of {service} requested",
                                f"the App queued it ({text[:300]}); the retraining pull request opens, "
                                "or the open one is updated")  # fmt: skip
    return 502, answer_page("The App refused the request", f"HTTP {status}: {text[:300]}")
