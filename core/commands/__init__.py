"""One module per CLI command, each with ``register(subparsers)``.

A command module adds its parser and sets ``handler`` (``args -> exit code``);
cli.py only assembles them, so new commands never touch the others.
"""

from __future__ import annotations

import argparse

__all__ = ["COMMANDS", "ENTRY_POINT_GROUP", "command_modules", "config_option", "provider_options"]

# Import paths of the command modules, in the order ``mlpipex --help`` lists them.
COMMANDS = (
    "mlpipex.commands.init",
    "mlpipex.commands.gate",
    "mlpipex.commands.validate",
    "mlpipex.commands.schema",
    "mlpipex.commands.package",
    "mlpipex.commands.push",
    "mlpipex.commands.pull",
    "mlpipex.commands.inspect",
    "mlpipex.commands.tag",
    "mlpipex.commands.deploy",
    "mlpipex.commands.rollout_commands",
    "mlpipex.commands.canary",
    "mlpipex.commands.serve",
    "mlpipex.commands.drift",
    "mlpipex.commands.monitor",
    "mlpipex.commands.completion",
)

# Commands that live outside the core register here (``[project.entry-points."mlpipex.commands"]``):
# the App adds ``mlpipex app`` this way, so the core never imports the App.
ENTRY_POINT_GROUP = "mlpipex.commands"


def command_modules() -> list[str]:
    """The core's commands, then those other installed packages add, by entry-point name."""
    from importlib.metadata import entry_points

    added = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    return [*COMMANDS, *(e.value for e in added if e.value not in COMMANDS)]


def config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE",
                        help="config file (default: mlpipex.yaml in the working directory)")  # fmt: skip


def provider_options(parser: argparse.ArgumentParser) -> None:
    from mlpipex.providers import PROVIDERS

    parser.add_argument("--provider", choices=PROVIDERS,
                        help="where results go (default: detected from the CI environment)")  # fmt: skip
    parser.add_argument("--strict-report", action="store_true",
                        help="fail (exit 3) when the results cannot be posted, instead of warning")  # fmt: skip
