"""``mlpipex validate``: check mlpipex.yaml and the files it names."""

from __future__ import annotations

import argparse
from typing import Any

from mlpipex.commands import config_option
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("validate", help="check mlpipex.yaml and the files it names")
    config_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.gates import select_gates

    config = load_config(args.config)
    gates = ", ".join(select_gates(config))
    print(f"{config.source}: valid ({config.model.name}@{config.model.version}; gates: {gates})")
    return EXIT_OK
