"""ChatOps: comments parsed into commands, and who may run them. Pure; the handlers do the I/O."""

from mlpipex.app.chatops.authz import (
    DEPLOYING,
    Actor,
    PullFacts,
    Verdict,
    authorize,
    required_permission,
)
from mlpipex.app.chatops.parser import COMMANDS, Command, Reply, help_text, may_hold_command, parse

__all__ = [
    "COMMANDS",
    "DEPLOYING",
    "Actor",
    "Command",
    "PullFacts",
    "Reply",
    "Verdict",
    "authorize",
    "help_text",
    "may_hold_command",
    "parse",
    "required_permission",
]
