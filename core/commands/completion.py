"""``mlpipex completion SHELL``: a completion script for bash, zsh or fish, generated from the CLI's own parser.

shtab writes it from the argparse tree, so it lists exactly the commands and
options ``mlpipex --help`` does, including commands added later. Arguments
whose metavar is FILE or DIR complete paths; ``choices`` complete their values.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlpipex.errors import EXIT_OK

__all__ = ["SHELLS", "completion_script", "register"]

SHELLS = ("bash", "zsh", "fish")
_PATHS = {"FILE": "FILE", "DIR": "DIRECTORY", "PACKAGE": "FILE"}


def register(commands: Any) -> None:
    parser = commands.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(handler=run)


def _mark_paths(parser: argparse.ArgumentParser) -> None:
    import shtab

    from mlpipex.commands.epilogs import subparsers

    for _, sub in subparsers(parser):
        for action in sub._actions:
            kind = _PATHS.get(str(action.metavar or ""))
            if kind and not action.choices:
                action.complete = getattr(shtab, kind)  # read by shtab when it writes the script


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for ``parser``: the whole CLI, as cli.build_parser assembled it."""
    import shtab

    _mark_paths(parser)
    return str(shtab.complete(parser, shell=shell))


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell, args.root_parser))
    return EXIT_OK
