"""Plain results that several packages speak of, in a module that imports none of them.

A rollout step (``DeployEvent``) is produced by the rollout flow, rendered by the
report and published by the providers; defining it here keeps
report → providers → report from being a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeployEvent"]


@dataclass(frozen=True)
class DeployEvent:
    """A deploy, promote, rollback or canary step: what moved, where, and how it ended."""

    action: str  # deploy | promote | rollback | canary
    model: str
    environment: str
    service: str
    ok: bool  # False: the step failed, or the canary was rolled back
    message: str  # one line: the outcome, or why it failed
    artifact: str | None = None  # what now takes the new share of traffic
    stable: str | None = None  # what keeps the rest
    traffic: int | None = None  # percent on ``artifact``
    by: str | None = None

    @property
    def title(self) -> str:
        if not self.ok and self.traffic is None:  # it never got as far as moving traffic
            return f"{self.action} of {self.model} in {self.environment} failed"
        share = f" at {self.traffic}%" if self.traffic is not None else ""
        return f"{self.model} in {self.environment}: {self.action}{share}"
