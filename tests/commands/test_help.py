"""`--help` for every command: help text on every option, examples that parse, exit codes."""

from __future__ import annotations

import argparse
import shlex

import pytest

from mlpipex.cli import build_parser
from mlpipex.commands.epilogs import EXAMPLES, subparsers

TREE = list(subparsers(build_parser()))


def test_every_option_and_argument_has_help_text():
    missing = [f"mlpipex {' '.join(path)} {'/'.join(a.option_strings) or a.dest}"
               for path, parser in TREE for a in parser._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]  # fmt: skip
    assert missing == []


def test_every_command_has_examples_and_exit_codes():
    for path, parser in TREE:
        assert parser.epilog and "examples:\n  " in parser.epilog and "\nexit codes:\n  0 " in parser.epilog, path
        assert f"mlpipex {' '.join(path)}".strip() in parser.epilog.split("exit codes:")[0], path
    assert {path for path, _ in TREE} <= set(EXAMPLES)  # none falls back to the generic text


def _example_argv(line: str) -> list[str]:
    command = line.split("  #")[0].strip()
    if command.startswith('eval "$('):
        command = command[len('eval "$('):].rstrip(')"')
    words = shlex.split(command.split(" > ")[0])
    assert words[0] == "mlpipex", line
    return words[1:]


@pytest.mark.parametrize("line", sorted({e for examples, _ in EXAMPLES.values() for e in examples}))
def test_every_example_parses_with_the_real_parser(line):
    args = build_parser().parse_args(_example_argv(line))  # SystemExit(2) on an option that does not exist
    assert callable(args.handler)


def test_help_shows_them(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["gate", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "examples:\n  mlpipex gate\n" in out and "  1 a gate failed" in out and "  3 an outside system failed" in out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["pull", "--help"])
    assert "directory to write models/ and config.json into" in capsys.readouterr().out
