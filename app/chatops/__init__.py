"""ChatOps: comments parsed into commands, and who may run them. Pure; the handlers do the I/O."""

from mlpipex.app.chatops.authz import (
    DEPLOYING,
    Actor,
    PullFacts,
    Verdict,
    authorize,
    required_permission,
)
from mlpipex.app.chatops.parser import COMMANDS, Command, Reply, help_text, parse

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
    "parse",
    "required_permission",
]
