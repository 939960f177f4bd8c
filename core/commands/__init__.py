"""One module per CLI command, each with ``register(subparsers)``.

A command module adds its parser and sets ``handler`` (``args -> exit code``);
cli.py only assembles them, so new commands never touch the others.
"""

from __future__ import annotations

import argparse

__all__ = ["COMMANDS", "config_option"]

# Import paths of the command modules, in the order ``mlpipex --help`` lists them.
COMMANDS = (
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
    "mlpipex.commands.app",
)


def config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE",
                        help="config file (default: mlpipex.yaml in the working directory)")  # fmt: skip
