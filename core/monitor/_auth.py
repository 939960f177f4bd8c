"""Who may talk to the monitor: bearer tokens with scopes (pure, no HTTP here).

Scopes: ``ingest`` (POST / and /events: payload-logger CloudEvents, optionally only
for some InferenceServices: a per-source token), ``labels`` (POST /api/v1/labels),
``read`` (the dashboard, /api/v1/windows, /api/v1/samples), ``metrics`` (GET
/metrics, only when metrics are not left open) and ``retrain`` (the dashboard's retrain
buttons, POST /dashboard/retrain: the token's name is recorded as who pressed it; a
token needs ``read`` too to see them). ``/healthz`` is always open.

A token is sent as ``Authorization: Bearer TOKEN`` or as the password of HTTP Basic
(``https://user:TOKEN@monitor/events``: Go's net/http, and so KServe's payload
logger, turns a URL's user info into that header; browsers ask for it on the
dashboard). Each presented token is compared with every configured one in constant
time (``hmac.compare_digest`` of SHA-256 digests, no early exit), so timing says
nothing about which token or how much of it matched.

Tokens come from ``MLPIPEX_MONITOR_TOKEN`` (every scope) and from a tokens file
(``--tokens FILE`` or ``MLPIPEX_MONITOR_TOKENS_FILE``), a YAML list::

    - name: kserve-fraud          # shown in logs and errors, never the token
      token_file: /var/run/secrets/mlpipex-monitor/fraud   # or token_env: NAME, or token: …
      scopes: [ingest]
      services: [fraud]           # this token may only send events of these InferenceServices
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipex.errors import ConfigError, Location

__all__ = ["SCOPES", "MonitorAuth", "Token", "load_auth", "presented_token"]

SCOPES = ("ingest", "labels", "read", "metrics", "retrain")
TOKEN_ENV = "MLPIPEX_MONITOR_TOKEN"
TOKENS_FILE_ENV = "MLPIPEX_MONITOR_TOKENS_FILE"
MIN_TOKEN = 16  # characters: a guessable token is a misconfiguration, said so at start


@dataclass(frozen=True)
class Token:
    name: str
    digest: bytes = field(repr=False)  # SHA-256 of the secret; the secret itself is not kept
    scopes: frozenset[str] = frozenset(SCOPES)
    services: frozenset[str] | None = None  # ingest only for these InferenceServices; None: any

    @classmethod
    def of(cls, name: str, secret: str, scopes: frozenset[str] = frozenset(SCOPES),
           services: frozenset[str] | None = None) -> Token:  # fmt: skip
        return cls(name, hashlib.sha256(secret.encode()).digest(), scopes, services)

    def may_send(self, service: str) -> bool:
        return self.services is None or service in self.services


@dataclass(frozen=True)
class MonitorAuth:
    """No tokens: authentication is off (the CLI allows that only on a loopback address or with --no-auth)."""

    tokens: tuple[Token, ...] = ()
    open_metrics: bool = True  # like most Prometheus exporters; False: /metrics needs the `metrics` scope

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def identify(self, secret: str | None) -> Token | None:
        """The configured token ``secret`` is, compared with every one in constant time."""
        if secret is None:
            return None
        presented = hashlib.sha256(secret.encode()).digest()
        found = None
        for token in self.tokens:  # no early exit
            if hmac.compare_digest(presented, token.digest):
                found = token
        return found


def presented_token(authorization: str | None) -> str | None:
    """The secret in an ``Authorization`` header: Bearer, or the password of Basic."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


def load_auth(tokens_file: str | None = None, *, environ: Mapping[str, str] | None = None,
              open_metrics: bool = True) -> MonitorAuth:  # fmt: skip
    """Tokens from the environment and a tokens file; ``ConfigError`` naming the file, entry and field."""
    env = os.environ if environ is None else environ
    tokens: list[Token] = []
    single = env.get(TOKEN_ENV)
    if single is not None:
        _check_secret(single, f"${TOKEN_ENV}", None)
        tokens.append(Token.of("env", single))
    path = tokens_file or env.get(TOKENS_FILE_ENV)
    if path:
        tokens += _from_file(Path(path), env)
    names = [t.name for t in tokens]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"two monitor tokens are named {duplicate!r}", location=Location(path=str(path)),
                          fix="give each token its own name (it is what logs show)")  # fmt: skip
    return MonitorAuth(tuple(tokens), open_metrics=open_metrics)


def _from_file(path: Path, env: Mapping[str, str]) -> list[Token]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the monitor's tokens file: {exc.strerror or exc}", location=Location(path=str(path)),
                          fix="pass --tokens FILE with a readable YAML list of tokens") from None  # fmt: skip
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"the tokens file is not YAML: {getattr(exc, 'problem', exc)}",
                          location=Location(path=str(path), line=mark.line + 1 if mark else None),
                          fix="write a YAML list: - {name: …, token_file: …, scopes: [ingest]}") from None  # fmt: skip
    if not isinstance(data, list) or not data:
        raise ConfigError("the tokens file must be a non-empty YAML list of tokens", location=Location(path=str(path)),
                          fix="- {name: kserve, token_file: /secrets/token, scopes: [ingest]}")  # fmt: skip
    lines = [node.start_mark.line + 1 for node in root.value] if root is not None and hasattr(root, "value") else []
    return [_entry(item, Location(path=str(path), line=lines[i] if i < len(lines) else None), path, env)
            for i, item in enumerate(data)]  # fmt: skip


def _entry(item: Any, where: Location, path: Path, env: Mapping[str, str]) -> Token:
    def bad(message: str, fix: str) -> ConfigError:
        return ConfigError(message, location=where, fix=fix)

    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
        raise bad("each token needs a `name`", "- name: kserve-fraud")
    name = item["name"]
    sources = [k for k in ("token", "token_file", "token_env") if k in item]
    if len(sources) != 1:
        raise bad(f"token {name!r} needs exactly one of token, token_file, token_env",
                  "prefer token_file: a mounted Secret (the token stays out of the file and the process list)")  # fmt: skip
    source = sources[0]
    if source == "token":
        secret = item["token"]
    elif source == "token_env":
        secret = env.get(str(item["token_env"]))
        if secret is None:
            raise bad(f"token {name!r}: ${item['token_env']} is not set", "set it, or use token_file")
    else:
        secret_path = Path(str(item["token_file"]))
        if not secret_path.is_absolute():
            secret_path = path.parent / secret_path
        try:
            secret = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise bad(f"token {name!r}: cannot read token_file {secret_path}: {exc.strerror or exc}",
                      "mount the Secret there or fix the path") from None  # fmt: skip
    if not isinstance(secret, str):
        raise bad(f"token {name!r}: the token must be text", "quote it")
    _check_secret(secret, f"token {name!r}", where)
    scopes = item.get("scopes", list(SCOPES))
    if not isinstance(scopes, list) or not scopes or any(s not in SCOPES for s in scopes):
        raise bad(f"token {name!r}: scopes must be a list of {', '.join(SCOPES)}", "e.g. scopes: [ingest]")
    services = item.get("services")
    if services is not None and (not isinstance(services, list) or not all(isinstance(s, str) for s in services)):
        raise bad(f"token {name!r}: services must be a list of InferenceService names", "e.g. services: [fraud]")
    unknown = set(item) - {"name", "token", "token_file", "token_env", "scopes", "services"}
    if unknown:
        raise bad(f"token {name!r}: unknown field {sorted(unknown)[0]!r}",
                  "fields: name, token_file | token_env | token, scopes, services")  # fmt: skip
    return Token.of(name, secret, frozenset(scopes), frozenset(services) if services is not None else None)


def _check_secret(secret: str, what: str, where: Location | None) -> None:
    if len(secret) < MIN_TOKEN or secret != secret.strip():
        raise ConfigError(f"{what} is shorter than {MIN_TOKEN} characters or has surrounding spaces", location=where,
                          fix="generate one: python -c 'import secrets; print(secrets.token_urlsafe(32))'")  # fmt: skip
