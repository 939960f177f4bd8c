"""``mlpipex tag``: point a promotion tag (e.g. production) at a package, by digest."""

from __future__ import annotations

import argparse
from typing import Any

from mlpipex.commands._registry_options import add_registry_options, client_for, print_result
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("tag", help="move a tag such as `production` to REF's manifest")
    parser.add_argument("ref", metavar="REF", help="REGISTRY/REPOSITORY@sha256:… (or :TAG)")
    parser.add_argument("new_tag", metavar="NEWTAG", help="the tag to point at REF, e.g. production")
    parser.add_argument("--force", action="store_true", help="allow moving a version tag")
    add_registry_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.oci import parse_reference, tag

    ref = parse_reference(args.ref)
    print_result(str(tag(client_for(ref, args), ref, args.new_tag, force=args.force)))
    return EXIT_OK
