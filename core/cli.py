"""The one front door: every CI wrapper and every person calls ``mlpipex``.

Exit codes: 0 pass, 1 a gate failed, 2 bad input or configuration, 3 an outside
system failed. No traceback reaches the user for anything mlpipex anticipated;
``MLPIPEX_DEBUG=1`` shows one for what it did not.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from mlpipex.commands import command_modules
from mlpipex.errors import EXIT_BAD_INPUT, EXIT_EXTERNAL, MlpipexError
from mlpipex.secrets import redacting_stdio
from mlpipex.version import __version__

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage names the fix and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n  fix: run `{self.prog} --help` for usage\n")


def build_parser() -> argparse.ArgumentParser:
    from mlpipex.commands.epilogs import add_epilogs

    parser = _Parser(prog="mlpipex", description="Deployment gates, packages and rollouts for ML models.")
    parser.add_argument("--version", action="version", version=f"mlpipex {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in command_modules():
        importlib.import_module(module).register(commands)
    add_epilogs(parser)  # examples and exit codes under every --help
    parser.set_defaults(root_parser=parser)  # for `mlpipex completion`, which writes out the whole tree
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; everything it prints passes through :func:`mlpipex.secrets.redact`."""
    with redacting_stdio():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        code: int = args.handler(args)
        return code
    except MlpipexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mlpipex schema | head`
        return 0
    except Exception as exc:
        if os.environ.get("MLPIPEX_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "  this is a bug in mlpipex; rerun with MLPIPEX_DEBUG=1 and report the traceback",
            file=sys.stderr,
        )
        return EXIT_EXTERNAL
