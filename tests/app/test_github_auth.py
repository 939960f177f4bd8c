"""Installation tokens from the App's JWT against the fake GitHub (checked against GitHub's OpenAPI)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.providers.fake_github import SPEC_PATH, FakeGitHub

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason="npm @octokit/openapi is missing (scripts/test.sh installs it)")


def _rsa_key() -> tuple[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode(), key.public_key()


@pytest.fixture(scope="module")
def app_key() -> tuple[str, Any]:
    return _rsa_key()


@pytest.fixture
def github(app_key: tuple[str, Any]) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.app_id, fake.app_public_key = 1234, app_key[1]
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_tokens_are_minted_with_the_app_jwt_and_cached_until_near_expiry(github: FakeGitHub, app_key: Any) -> None:
    from mlpipex.app.github_auth import InstallationTokens

    clock = Clock()
    tokens = InstallationTokens(1234, app_key[0], base_url=github.url, clock=clock)
    first = tokens.token(42)
    assert github.tokens[first] == 42
    assert tokens.token(42) == first and tokens.fetches == 1
    other = tokens.token(7)
    assert other != first and github.tokens[other] == 7 and tokens.fetches == 2
    clock.now += timedelta(minutes=54)  # an hour's token, refreshed 5 minutes early
    assert tokens.token(42) == first
    clock.now += timedelta(minutes=2)
    assert tokens.token(42) != first and tokens.fetches == 3


def test_github_for_acts_as_the_installation(github: FakeGitHub, app_key: Any) -> None:
    from mlpipex.app.github_auth import InstallationTokens

    tokens = InstallationTokens(1234, app_key[0], base_url=github.url)
    gh = tokens.github_for(42)
    assert gh.get_repo("octo-org/models").full_name == "octo-org/models"
    assert github.authorizations[-1] == f"token {tokens.token(42)}"
    assert github.authorizations[0].startswith("Bearer ey"), "the token request is signed with the App's JWT"


def test_a_wrong_key_is_refused_by_github(github: FakeGitHub) -> None:
    from mlpipex.app.github_auth import InstallationTokens
    from mlpipex.errors import ExternalError

    tokens = InstallationTokens(1234, _rsa_key()[0], base_url=github.url)
    with pytest.raises(ExternalError, match="installation 42: HTTP 401"):
        tokens.token(42)


def test_an_unreadable_key_fails_at_start(tmp_path: Path) -> None:
    from mlpipex.app.github_auth import InstallationTokens
    from mlpipex.app.settings import Settings
    from mlpipex.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot sign a JWT"):
        InstallationTokens(1234, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="MLPIPEX_PRIVATE_KEY_PATH"):
        Settings(private_key_path=tmp_path / "missing.pem").private_key()
