"""``mlpipex package``: build the model's OCI artifact (and its modelcar image) into the local store."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from mlpipex.commands import config_option
from mlpipex.commands._registry_options import add_registry_options, client_for, print_result
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("package", help="build the model's OCI artifact (local store, no registry needed)")
    config_option(parser)
    parser.add_argument("--report", default=".mlpipex/report/report.json", metavar="FILE",
                        help="gate report to carry as evidence (default: .mlpipex/report/report.json)")  # fmt: skip
    parser.add_argument("--allow-ungated", action="store_true", help="package without a gate report")
    parser.add_argument("--layout", default=".mlpipex/oci", metavar="DIR", help="local OCI image layout")
    add_registry_options(parser)  # for package.modelcar.base's registry (fetched once, then read from the layout)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config

    config = load_config(args.config)
    root = Path(args.layout)
    fresh = not root.exists()
    try:
        return _build(config, root, args)
    except BaseException:
        if fresh:  # a failed first package leaves no half-written store behind
            shutil.rmtree(root, ignore_errors=True)
        raise


def _build(config: Any, root: Path, args: argparse.Namespace) -> int:
    from mlpipex.oci import Layout, build_package, fetch_base, parse_reference

    layout = Layout(root)
    base = None
    if config.package.modelcar is not None:
        ref = parse_reference(config.package.modelcar.base)
        base = fetch_base(client_for(ref, args), ref, layout, platform=config.package.modelcar.platform)
    built = build_package(config, layout, report_path=Path(args.report), allow_ungated=args.allow_ungated,
                          modelcar_base=base)  # fmt: skip
    evidence = "with its gate report" if built.report else "without a gate report"
    print_result(f"{built.ref_name}@{built.manifest.digest}")
    image = f"; modelcar image {built.modelcar.digest}" if built.modelcar else ""
    print(f"packaged into {args.layout} ({evidence}{image}); `mlpipex push` sends it to a registry", file=sys.stderr)
    return EXIT_OK
