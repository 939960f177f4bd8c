"""``mlpipex schema``: print the JSON Schema of mlpipex.yaml, for editors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("schema", help="print the JSON Schema of mlpipex.yaml")
    parser.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import json_schema_text

    text = json_schema_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK
