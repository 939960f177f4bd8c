"""``chatops:``: who may run which pull-request command."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from mlpipex.config.model._base import _Strict

__all__ = ["BranchName", "ChatOpsCommand", "ChatOpsConfig", "Permission"]

# ChatOps: who may run which pull-request command. Read from the base branch, never the PR.
# A git branch name (`git check-ref-format --branch`, minus its rarely used corners);
# ChatOpsConfig._branch_names refuses what a pattern without look-around cannot.
BranchName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$",
                                  description="a branch name, e.g. release/2.x")]  # fmt: skip
ChatOpsCommand = Literal["promote", "rollback", "canary", "status", "retrain", "lock", "unlock"]
Permission = Literal["read", "triage", "write", "maintain", "admin"]


class ChatOpsConfig(_Strict):
    prefix: str = Field("/", min_length=1, max_length=20, pattern=r"^\S+$",
                        description="What starts a command in a comment (no spaces): `/` gives `/promote`, `!` gives `!promote`.")  # fmt: skip
    permissions: dict[ChatOpsCommand, Permission] = Field(
        default_factory=dict,
        description="Repository permission a command needs (default: write; status needs read), e.g. {promote: maintain}.",
    )
    teams: dict[ChatOpsCommand, list[str]] = Field(
        default_factory=dict,
        description="Members of these teams (`org/team-slug`) may also run the command, whatever their permission.",
    )
    require_approvals: int = Field(0, ge=0, description="Approving reviews the pull request needs before `/promote`.")
    require_green_gates: bool = Field(True, description="`/promote` only when the model's gate check run passed.")
    protected_branches: list[BranchName] = Field(
        default_factory=list, max_length=50,
        description="Read from the default branch only: branches (exact names) whose own mlpipex.yaml decides for pull "
                    "requests based on them. A pull request based on any other branch may run read-only commands "
                    "(/status, /help) and its merge deploys nothing.",
    )  # fmt: skip
    promote_without_pull: bool = Field(
        False, description="Allow `/promote` where there is no pull request (an issue, the Promote button of a check run "
                           "GitHub lists with no pull request, as for forks): approvals and gates cannot be checked there.",
    )  # fmt: skip

    @field_validator("protected_branches")
    @classmethod
    def _branch_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if ".." in name or "//" in name or name.endswith(("/", ".", ".lock")):
                raise ValueError(f"{name!r} is not a branch name git allows (no '..', '//', or trailing '/', '.', '.lock')")
        return value
