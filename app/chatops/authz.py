"""Who may run a command, decided before anything runs. Pure: facts in, a verdict out.

The facts (the commenter's repository permission and teams, the pull request's
approvals, gate result and origin) are gathered by the handler from GitHub; the
policy is the ``chatops:`` section of the default branch's mlpipex.yaml (or of a
branch the default branch lists in ``chatops.protected_branches``; see
mlpipex.app.policy_source), never the pull request's own copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlpipex.app.chatops.parser import Command
from mlpipex.config.model import ChatOpsConfig

__all__ = ["DEPLOYING", "LEVELS", "READ_ONLY", "Actor", "PullFacts", "Verdict", "authorize", "required_permission"]

LEVELS = ("none", "read", "triage", "write", "maintain", "admin")  # GitHub's repository roles, weakest first
DEPLOYING = frozenset({"promote", "rollback", "canary"})
READ_ONLY = frozenset({"status"})  # change nothing: allowed even where the policy's branch is not trusted
_DEFAULTS = {"status": "read", "help": "read"}


@dataclass(frozen=True)
class Actor:
    login: str
    permission: str  # the commenter's repository permission: none, read, triage, write, maintain, admin
    teams: frozenset[str] = frozenset()  # "org/team-slug" the commenter belongs to (only the ones the policy names)


@dataclass(frozen=True)
class PullFacts:
    fork: bool  # the head lives in another repository
    approvals: int = 0  # approving reviews on the current head
    gates_green: bool | None = None  # the model's gate check run on the head: passed, failed, or not found
    head_sha: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def required_permission(command: str, policy: ChatOpsConfig) -> str:
    configured: str | None = policy.permissions.get(command)
    return configured or _DEFAULTS.get(command, "write")


def authorize(command: Command, actor: Actor, policy: ChatOpsConfig, pull: PullFacts | None = None, *,
              untrusted_base: str | None = None) -> Verdict:  # fmt: skip
    """``untrusted_base``: why the pull request's base branch may not deploy (None: it may);
    then only read-only commands pass."""
    name = command.name
    if untrusted_base is not None and name not in READ_ONLY:
        return Verdict(False, untrusted_base + ".")
    needed = required_permission(name, policy)
    teams = set(policy.teams.get(name, ()))
    level = LEVELS.index(actor.permission) if actor.permission in LEVELS else 0
    if level < LEVELS.index(needed) and not (teams & actor.teams):
        via = f" or membership of {', '.join(sorted(teams))}" if teams else ""
        return Verdict(False, f"@{actor.login} has `{actor.permission}` permission; `{name}` needs `{needed}`{via}.")
    if pull is not None and pull.fork and (name in DEPLOYING or name == "retrain"):
        return Verdict(False, "this pull request comes from a fork, and a fork's pull request can never deploy.")
    if name == "promote" and pull is None and not policy.promote_without_pull:
        return Verdict(False, "there is no pull request here, so its approvals and gates cannot be checked; promote from "
                              "the model's pull request (or set `chatops.promote_without_pull: true` on the default branch).")  # fmt: skip
    if name == "promote" and pull is not None:
        if pull.approvals < policy.require_approvals:
            return Verdict(False, f"`promote` needs {policy.require_approvals} approving review(s); "
                                  f"this pull request has {pull.approvals}.")  # fmt: skip
        if policy.require_green_gates and pull.gates_green is not True:
            state = "failed" if pull.gates_green is False else "not reported"
            where = f" on {pull.head_sha[:12]}" if pull.head_sha else ""
            return Verdict(False, f"the gates {state}{where}; `promote` needs them green.")
    return Verdict(True, f"@{actor.login} ({actor.permission}) may run `{name}`.")
