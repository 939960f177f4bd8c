"""``mlpipex package``: build the model's OCI artifact into the local store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipex.commands import config_option
from mlpipex.commands._registry_options import print_result
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("package", help="build the model's OCI artifact (local store, no registry needed)")
    config_option(parser)
    parser.add_argument("--report", default=".mlpipex/report/report.json", metavar="FILE",
                        help="gate report to carry as evidence (default: .mlpipex/report/report.json)")  # fmt: skip
    parser.add_argument("--allow-ungated", action="store_true", help="package without a gate report")
    parser.add_argument("--layout", default=".mlpipex/oci", metavar="DIR", help="local OCI image layout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.oci import Layout, build_package

    config = load_config(args.config)
    built = build_package(config, Layout(Path(args.layout)),
                          report_path=Path(args.report), allow_ungated=args.allow_ungated)  # fmt: skip
    evidence = "with its gate report" if built.report else "without a gate report"
    print_result(f"{built.ref_name}@{built.manifest.digest}")
    print(f"packaged into {args.layout} ({evidence}); `mlpipex push` sends it to a registry",
          file=__import__("sys").stderr)  # fmt: skip
    return EXIT_OK
