"""The App's structured logs: one ``key=value`` line per delivery and per job, secrets never.

``mlpipex app serve --log-level info`` calls :func:`configure_logging`, which gives the
``mlpipex`` loggers a handler of their own (uvicorn configures only its own loggers,
so without it the App's INFO lines went nowhere). Lines look like::

    ts=2026-12-01T09:30:00.123Z level=info logger=mlpipex.app.webhooks msg=delivery delivery=3f2a… event=issue_comment kind=issue_comment.created repository=acme/models outcome=queued job=42

Only ids, names and outcomes are logged, never a payload, a comment body, a token
or a header; and the formatter replaces each configured secret value with ``***``
wherever it would appear anyway (an exception message quoting a URL with a password).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

__all__ = ["KeyValueFormatter", "configure_logging", "log_event"]

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@#+,")
_HANDLER_NAME = "mlpipex-app-structured"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and set(text) <= _PLAIN:
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with newlines and quotes escaped: one line per event


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=… logger=… msg=… key=value…``; ``secrets`` are masked in the whole line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        fields: dict[str, Any] = {"ts": at, "level": record.levelname.lower(), "logger": record.name,
                                  "msg": record.getMessage()}  # fmt: skip
        fields.update({k: v for k, v in (getattr(record, "fields", None) or {}).items() if v is not None})
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info).splitlines()[-1]
        line = " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


def configure_logging(level: str = "info", *, secrets: Iterable[str] = ()) -> None:
    """Send the ``mlpipex`` loggers' records at ``level`` and above to stderr as key=value lines."""
    logger = logging.getLogger("mlpipex")
    logger.setLevel(level.upper())
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(KeyValueFormatter(secrets))
    logger.addHandler(handler)
    logger.propagate = False  # not twice through a root handler someone else configured


def log_event(logger: logging.Logger, message: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """One structured line: ``message`` plus ``fields`` (None values are left out)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})
