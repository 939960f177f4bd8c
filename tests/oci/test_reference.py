"""Image references and credentials: pure parsing, precise errors."""

from __future__ import annotations

import pytest

from mlpipex.errors import InputError
from mlpipex.oci import Reference, credentials_for, is_loopback, parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ghcr.io/acme/models/fraud:1.4.0", Reference("ghcr.io", "acme/models/fraud", "1.4.0")),
        (f"127.0.0.1:5000/m/bc@{DIGEST}", Reference("127.0.0.1:5000", "m/bc", None, DIGEST)),
        (f"oci://localhost:5000/bc:prod@{DIGEST}", Reference("localhost:5000", "bc", "prod", DIGEST)),
        ("registry.example.com/a/b", Reference("registry.example.com", "a/b")),
    ],
)
def test_parse(text, expected):
    assert parse_reference(text) == expected
    assert parse_reference(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("fraud:1.0", "no registry host"), ("acme/fraud", "does not look like a registry host"),
     ("ghcr.io/Acme/Fraud", "not a valid repository path"), ("ghcr.io/a/b@sha256:xyz", "not a sha256 digest"),
     ("ghcr.io/a/b:bad tag!", "not a valid tag")],
)  # fmt: skip
def test_parse_errors(text, message):
    with pytest.raises(InputError, match=message) as info:
        parse_reference(text)
    assert info.value.fix


def test_loopback():
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:5000")
    assert not is_loopback("ghcr.io") and not is_loopback("10.0.0.1:5000")


def test_credentials_sources():
    env = {"MLPIPEX_REGISTRY_USERNAME": "u", "MLPIPEX_REGISTRY_PASSWORD": "p", "GITHUB_TOKEN": "t"}
    assert credentials_for("ghcr.io", env).username == "u"
    github = credentials_for("ghcr.io", {"GITHUB_TOKEN": "t", "GITHUB_ACTOR": "octocat"})
    assert (github.username, github.password) == ("octocat", "t")
    assert credentials_for("quay.io", {"GITHUB_TOKEN": "t"}) is None
    assert "hunter2" not in repr(credentials_for("x.io", {**env, "MLPIPEX_REGISTRY_PASSWORD": "hunter2"}))


def test_credentials_scoped_to_hosts_go_nowhere_else():
    env = {"MLPIPEX_REGISTRY_USERNAME": "u", "MLPIPEX_REGISTRY_PASSWORD": "p",
           "MLPIPEX_REGISTRY_HOST": "registry.acme.internal:5000, GHCR.io"}  # fmt: skip
    assert credentials_for("registry.acme.internal:5000", env).username == "u"
    assert credentials_for("ghcr.io", env).username == "u"  # host names compare case-insensitively
    assert credentials_for("evil.example.com", env) is None  # a pull request's baseline cannot collect them
    assert credentials_for("registry.acme.internal", env) is None  # the port is part of the host
    # GITHUB_TOKEN for ghcr.io is not affected by the scope
    assert credentials_for("ghcr.io", {"GITHUB_TOKEN": "t", "MLPIPEX_REGISTRY_HOST": "quay.io"}).password == "t"
