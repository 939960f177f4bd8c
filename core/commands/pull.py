"""``mlpipex pull``: fetch a package, checking every digest, and unpack it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipex.commands._registry_options import add_registry_options, client_for, print_result
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("pull", help="pull REF[@DIGEST] into a directory (models/, config.json)")
    parser.add_argument("ref", metavar="REF", help="REGISTRY/REPOSITORY:TAG or …@sha256:DIGEST (a digest is verified)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory to write models/ and config.json into")
    add_registry_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.oci import parse_reference, pull

    ref = parse_reference(args.ref)
    out = Path(args.output)
    result = pull(client_for(ref, args), ref, out)
    print_result(f"{ref.with_digest(result['digest'])} → {out}")
    return EXIT_OK
