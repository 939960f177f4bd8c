"""The gate's GitHub check run as a contract: its name and its buttons (pure).

``mlpipex gate`` (providers/github.py) creates the check run ``mlpipex / MODEL`` with
these buttons; the App (mlpipex.app) finds the gate's result by that name on the
head commit and turns a pressed button into the ChatOps command it stands for.
Defined once here so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECK_ACTIONS", "CheckAction", "check_name", "check_run_actions", "model_of_check"]

_PREFIX = "mlpipex / "


@dataclass(frozen=True)
class CheckAction:
    identifier: str  # what GitHub sends back in requested_action.identifier (at most 20 characters)
    label: str  # the button (at most 20 characters)
    description: str  # its tooltip (at most 40 characters)
    command: str  # the ChatOps command it runs


CHECK_ACTIONS = (
    CheckAction("mlpipex-promote", "Promote", "Move the model to the next step", "promote"),
    CheckAction("mlpipex-rollback", "Rollback", "Return to the previous model", "rollback"),
)


def check_name(model: str) -> str:
    """The check run `mlpipex gate` creates for ``model``."""
    return f"{_PREFIX}{model}"


def model_of_check(name: str) -> str | None:
    """The model a check run named ``name`` is the gate of; None for anyone else's run."""
    return name[len(_PREFIX):] or None if name.startswith(_PREFIX) else None


def check_run_actions() -> list[dict[str, str]]:
    """The buttons as GitHub's check-run API takes them."""
    return [{"label": a.label, "description": a.description, "identifier": a.identifier} for a in CHECK_ACTIONS]
