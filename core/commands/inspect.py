"""``mlpipex inspect``: config, annotations, layers and evidence of a package."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipex.commands._registry_options import add_registry_options, client_for, print_result
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("inspect", help="show a package: REF, or NAME:VERSION in the local store")
    parser.add_argument("ref", metavar="REF", help="REGISTRY/REPOSITORY:TAG, …@sha256:DIGEST, or NAME:VERSION in the local store")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")
    parser.add_argument("--layout", default=".mlpipex/oci", metavar="DIR", help="local OCI image layout")
    add_registry_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.oci import Layout, inspect_local, inspect_remote, parse_reference

    if "/" in args.ref:
        ref = parse_reference(args.ref)
        result = inspect_remote(client_for(ref, args), ref)
    else:
        result = inspect_local(Layout(Path(args.layout)), args.ref)
    print_result(result.to_json() if args.json else result.summary())
    return EXIT_OK
