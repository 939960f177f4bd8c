"""Installation tokens from the App's JWT, cached per installation until shortly before expiry.

The one place the App authenticates to GitHub. ``github_for(installation_id)``
returns a PyGithub client for that installation; tokens last an hour and are
reused until ``refresh_margin`` before they expire, so a busy App asks GitHub for
a token about once an hour per installation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from mlpipex.errors import ConfigError, ExternalError

__all__ = ["InstallationTokens"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class InstallationTokens:
    def __init__(self, app_id: int, private_key: str, *, base_url: str = "https://api.github.com",
                 refresh_margin: timedelta = timedelta(minutes=5),
                 clock: Callable[[], datetime] = _utcnow) -> None:  # fmt: skip
        from github import Auth, GithubIntegration

        try:
            auth = Auth.AppAuth(app_id, private_key)
            auth.token  # noqa: B018 - signs a JWT now, so a bad key fails at start, not at the first event
        except Exception as exc:
            raise ConfigError(f"the App's private key cannot sign a JWT: {type(exc).__name__}",
                              fix="point MLPIPEX_PRIVATE_KEY_PATH at the PEM key downloaded from the App's settings") from None  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.integration = GithubIntegration(auth=auth, base_url=self.base_url)
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # how many tokens were requested from GitHub (for tests and metrics)

    def token(self, installation_id: int) -> str:
        """A valid installation token, from the cache or freshly minted."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached[1] - self.refresh_margin > self.clock():
                return cached[0]
            try:
                authorization = self.integration.get_access_token(installation_id)
            except Exception as exc:
                status = getattr(exc, "status", None)
                raise ExternalError(f"GitHub refused an installation token for installation {installation_id}"
                                    + (f": HTTP {status}" if status else f": {type(exc).__name__}"),
                                    fix="check the App id and key, and that the App is still installed") from None  # fmt: skip
            self.fetches += 1
            expires = authorization.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
            self._tokens[installation_id] = (authorization.token, expires)
            return str(authorization.token)

    def forget(self, installation_id: int) -> None:
        """Drop a cached token (the installation was removed or suspended)."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def github_for(self, installation_id: int) -> Any:
        """A ``github.Github`` client acting as the installation."""
        from github import Auth, Github, GithubRetry

        return Github(auth=Auth.Token(self.token(installation_id)), base_url=self.base_url,
                      retry=GithubRetry(total=3), per_page=100)  # fmt: skip
