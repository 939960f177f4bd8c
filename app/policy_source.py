"""Which branch's mlpipex.yaml decides: the default branch, or a branch it names as protected.

Deploy policy (``chatops``, ``deploy``, ``retraining``) decides who may move
production, so it must come from a branch a writer cannot change alone. A pull
request's base branch is not such a branch: anyone with write access can push a
branch whose mlpipex.yaml says ``permissions: {promote: read}`` and open a pull
request against it. So the policy is read from the repository's default branch,
or from the base branch only when the default branch's configuration lists it in
``chatops.protected_branches``. A pull request based on any other branch gets the
default branch's configuration (for model names, the prefix and ``/status``), may
run read-only commands only, and its merge deploys nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpipex.app.forge import RepoForge
    from mlpipex.config import Config

__all__ = ["Policy", "policy_for", "protected_branches", "trusted_base"]


@dataclass(frozen=True)
class Policy:
    configs: list[Config]  # the configurations whose chatops/deploy/retraining sections decide
    ref: str  # the branch they were read from
    trusted: bool  # True: commands may deploy under these configurations
    reason: str | None = None  # why not, when not trusted (said in the reply and the audit log)


def protected_branches(default_configs: Iterable[Config]) -> frozenset[str]:
    """The branches the default branch's configurations list (any of them: they all live on the default branch)."""
    return frozenset(name for config in default_configs for name in config.chatops.protected_branches)


def trusted_base(base: str | None, default: str, protected: Iterable[str]) -> str | None:
    """None when a pull request based on ``base`` may deploy; otherwise the reason it may not. Pure."""
    if base is None or base == default or base in set(protected):
        return None
    return (f"this pull request is based on `{base}`, which is neither the default branch `{default}` nor listed in "
            f"`chatops.protected_branches` on `{default}`: only read-only commands run here, and its merge deploys nothing")  # fmt: skip


def policy_for(forge: RepoForge, base: str | None) -> Policy:
    """The policy for a pull request based on ``base`` (None: no pull request, the default branch's)."""
    default = forge.default_branch()
    default_configs = forge.configs(default)
    reason = trusted_base(base, default, protected_branches(default_configs))
    if reason is not None:
        return Policy(default_configs, default, trusted=False, reason=reason)
    if base is None or base == default:
        return Policy(default_configs, default, trusted=True)
    return Policy(forge.configs(base), base, trusted=True)
