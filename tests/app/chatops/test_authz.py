"""Authorisation before anything runs: permission levels, teams, forks, approvals, green gates."""

from __future__ import annotations

import pytest

from mlpipex.app.chatops import Actor, Command, PullFacts, authorize, required_permission
from mlpipex.config.model import ChatOpsConfig

DEFAULT = ChatOpsConfig(require_green_gates=False)
GREEN = PullFacts(fork=False, approvals=2, gates_green=True, head_sha="f" * 40)


@pytest.mark.parametrize(("permission", "allowed"), [
    ("none", False), ("read", False), ("triage", False), ("write", True), ("maintain", True), ("admin", True),
    ("something-new", False),  # an unknown level is no level
])  # fmt: skip
def test_write_is_needed_by_default(permission, allowed):
    verdict = authorize(Command("rollback"), Actor("octocat", permission), DEFAULT, GREEN)
    assert verdict.allowed is allowed
    if not allowed:
        assert "@octocat" in verdict.reason and "needs `write`" in verdict.reason


def test_status_and_help_need_only_read():
    assert required_permission("status", DEFAULT) == "read"
    assert authorize(Command("status"), Actor("reader", "read"), DEFAULT).allowed


def test_per_command_permission_and_teams():
    policy = ChatOpsConfig(permissions={"promote": "maintain"}, teams={"promote": ["acme/ml-release"]},
                           require_green_gates=False)  # fmt: skip
    writer = Actor("dev", "write")
    refused = authorize(Command("promote"), writer, policy, GREEN)
    assert not refused.allowed and "needs `maintain` or membership of acme/ml-release" in refused.reason
    assert authorize(Command("promote"), Actor("lead", "maintain"), policy, GREEN).allowed
    assert authorize(Command("promote"), Actor("rel", "write", frozenset({"acme/ml-release"})), policy, GREEN).allowed
    assert authorize(Command("rollback"), writer, policy, GREEN).allowed  # other commands keep the default


@pytest.mark.parametrize("name", ["promote", "rollback", "canary", "retrain"])
def test_a_fork_can_never_deploy_whoever_asks(name):
    fork = PullFacts(fork=True, approvals=5, gates_green=True)
    verdict = authorize(Command(name, percent=50 if name == "canary" else None), Actor("admin", "admin"), DEFAULT, fork)
    assert not verdict.allowed and "fork" in verdict.reason


def test_status_on_a_fork_is_fine():
    assert authorize(Command("status"), Actor("admin", "admin"), DEFAULT, PullFacts(fork=True)).allowed


def test_promote_needs_approvals_and_green_gates_when_configured():
    policy = ChatOpsConfig(require_approvals=2, require_green_gates=True)
    admin = Actor("admin", "admin")
    one = authorize(Command("promote"), admin, policy, PullFacts(fork=False, approvals=1, gates_green=True))
    assert not one.allowed and "needs 2 approving review(s); this pull request has 1" in one.reason
    red = authorize(Command("promote"), admin, policy, PullFacts(fork=False, approvals=2, gates_green=False, head_sha="ab" * 20))
    assert not red.allowed and "the gates failed on abababababab" in red.reason
    unknown = authorize(Command("promote"), admin, policy, PullFacts(fork=False, approvals=2, gates_green=None))
    assert not unknown.allowed and "not reported" in unknown.reason
    assert authorize(Command("promote"), admin, policy, GREEN).allowed
    assert authorize(Command("rollback"), admin, policy, PullFacts(fork=False, gates_green=False)).allowed  # rollback is always possible


# Issue 12, item 2: no pull request, no promote (unless the default branch's policy says so).
def test_promote_without_a_pull_request_is_refused_unless_the_policy_allows_it():
    strict = ChatOpsConfig(require_approvals=2, require_green_gates=True)
    verdict = authorize(Command("promote"), Actor("lead", "admin"), strict, None)
    assert not verdict.allowed and "no pull request" in verdict.reason and "promote_without_pull" in verdict.reason
    assert authorize(Command("rollback"), Actor("lead", "admin"), strict, None).allowed  # rolling back needs no review
    relaxed = ChatOpsConfig(require_approvals=2, require_green_gates=True, promote_without_pull=True)
    assert authorize(Command("promote"), Actor("lead", "admin"), relaxed, None).allowed


# Issue 12, item 1: a base branch the default branch does not trust runs read-only commands only.
@pytest.mark.parametrize("name", ["promote", "rollback", "canary", "retrain", "lock", "unlock"])
def test_an_untrusted_base_allows_nothing_that_changes_anything(name):
    verdict = authorize(Command(name, percent=10), Actor("admin", "admin"), DEFAULT, GREEN, untrusted_base="based on `x`")
    assert not verdict.allowed and verdict.reason == "based on `x`."
    assert authorize(Command("status"), Actor("reader", "read"), DEFAULT, GREEN, untrusted_base="based on `x`").allowed


def test_trusted_base_is_the_default_branch_or_a_listed_one():
    from mlpipex.app.policy_source import trusted_base

    assert trusted_base(None, "main", ()) is None and trusted_base("main", "main", ()) is None
    assert trusted_base("release/2.x", "main", ["release/2.x"]) is None
    reason = trusted_base("evil", "main", ["release/2.x"])
    assert reason is not None and "`evil`" in reason and "chatops.protected_branches" in reason
