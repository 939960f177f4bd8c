"""The run's secrets, and the one function every output passes through: :func:`redact`.

A secret is the value of an environment variable named like one (``*TOKEN*``,
``*PASSWORD*``, ``*SECRET*``, ``*KEY*``, ``*CREDENTIAL*`` …: that covers
``GITHUB_TOKEN``, ``MLPIPEX_REGISTRY_PASSWORD``, ``MLPIPEX_GITLAB_TOKEN``,
``CI_JOB_TOKEN``, and anything mlpipex.yaml interpolates from such a variable), of
each variable listed in ``MLPIPEX_SECRET_VARS`` (comma-separated names: for secrets
whose names do not say so, e.g. GitLab masked variables, which a job cannot list),
or a value the code registered (:func:`register`: a ``--password`` given on the
command line, a token read from a file).

GitHub's ``::add-mask::`` values are known only to the runner, not to the process:
GitHub masks them in the log, and a workflow that wants them out of the reports
too passes them in a variable named like a secret or lists it in
``MLPIPEX_SECRET_VARS``.

Values shorter than :data:`MIN_LENGTH` are not redacted (replacing every ``1``
would destroy the report and protect nothing).
"""

from __future__ import annotations

import enum
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any, TextIO, TypeVar

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "RedactingStream",
    "looks_secret",
    "redact",
    "redact_data",
    "redacting_stdio",
    "register",
    "secret_values",
]

MASK = "***"
MIN_LENGTH = 4
EXTRA_VARS = "MLPIPEX_SECRET_VARS"

_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|KEY|CREDENTIAL|PRIVATE|JWT|AUTH(?!OR)")
_NOT_SECRET = {"true", "false", "none", "null", "yes", "no"}
_registered: set[str] = set()

T = TypeVar("T")


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return bool(_SECRET_NAME.search(name.upper()))


def register(*values: str | None) -> None:
    """Treat these values as secrets for the rest of the process."""
    _registered.update(v for v in values if v)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret the run knows, longest first (so a secret inside another is covered)."""
    env = os.environ if environ is None else environ
    extra = {n.strip() for n in env.get(EXTRA_VARS, "").split(",") if n.strip()}
    found = set(_registered)
    for name, value in env.items():
        if looks_secret(name) or name in extra:
            found.add(value)
            # a PEM key or a JSON credential is also printed line by line
            found.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
    usable = {v for v in found if len(v) >= MIN_LENGTH and v.lower() not in _NOT_SECRET}
    return sorted(usable, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_data(value: T, secrets: Iterable[str] | None = None) -> T:
    """A copy of ``value`` (dataclasses, dicts, lists, strings) with every string redacted."""
    known = secret_values() if secrets is None else list(secrets)
    return _redact_any(value, known) if known else value


def _redact_any(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, enum.Enum):  # Status is a str; keep it a Status
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {_redact_any(k, secrets): _redact_any(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_any(v, secrets) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _redact_any(getattr(value, f.name), secrets) for f in fields(value) if f.init}
        return replace(value, **changes)
    return value


class RedactingStream:
    """A text stream that redacts what is written to it (stdout and stderr of the CLI).

    A secret split across two ``write`` calls would get through; the CLI writes
    whole lines.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding …
        return getattr(self.stream, name)


class redacting_stdio:
    """Within ``with redacting_stdio():`` sys.stdout and sys.stderr are redacted."""

    def __enter__(self) -> None:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = RedactingStream(sys.stdout)
        sys.stderr = RedactingStream(sys.stderr)

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self._saved
