"""``mlpipex push``: copy a package from the local store to a registry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpipex.commands import config_option
from mlpipex.commands._registry_options import add_registry_options, client_for, print_result
from mlpipex.errors import EXIT_OK, InputError


def register(commands: Any) -> None:
    parser = commands.add_parser("push", help="push the package to a registry; prints REF@sha256:…")
    config_option(parser)
    parser.add_argument("--to", metavar="REF", help="target, e.g. ghcr.io/acme/models/fraud[:TAG] "
                                                    "(default: package.registry/package.repository)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite an existing version tag")
    parser.add_argument("--output-file", metavar="FILE", help="also write REF@DIGEST to FILE (CI outputs)")
    parser.add_argument("--layout", default=".mlpipex/oci", metavar="DIR", help="local OCI image layout")
    add_registry_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.console import Console
    from mlpipex.oci import Layout, parse_reference, push

    config = load_config(args.config, check_files=False)
    target_text = args.to
    if not target_text:
        if not (config.package.registry and config.package.repository):
            raise InputError("no registry to push to",
                             fix="pass --to REGISTRY/REPOSITORY, or set package.registry and package.repository")  # fmt: skip
        target_text = f"{config.package.registry}/{config.package.repository}"
    target = parse_reference(target_text)
    if target.digest:
        raise InputError(f"--to {target_text}: push to a repository or tag, not a digest")
    console = Console()
    pushed = push(Layout(Path(args.layout)), f"{config.model.name}:{config.model.version}", target,
                  client_for(target, args, console), force=args.force)  # fmt: skip
    print_result(str(pushed.reference))
    evidence = f"; gate report attached ({pushed.evidence})" if pushed.evidence else ""
    print(f"pushed {pushed.uploaded} blob(s), {pushed.skipped} already there{evidence}", file=sys.stderr)
    if pushed.modelcar:
        print(f"modelcar image {pushed.modelcar} (KServe's oci:// loads it; deploy finds it from the artifact)",
              file=sys.stderr)  # fmt: skip
    if args.output_file:
        Path(args.output_file).write_text(str(pushed.reference) + "\n")
    from mlpipex.providers import provider_for

    provider = provider_for()
    outputs = {"artifact": str(pushed.reference)}
    if pushed.modelcar:
        outputs["modelcar"] = str(pushed.modelcar)
    provider.write_outputs(outputs)  # the push is done: its outputs come before the report that may fail
    linked = provider.artifact_pushed(config.model.name, str(pushed.reference))
    for warning in linked.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK
