"""``mlpipex serve``: serve a package with KServe's own model server (v1 and v2 REST)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpipex.commands import config_option
from mlpipex.errors import EXIT_OK, InputError


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="serve a package locally with KServe's model server")
    parser.add_argument("package", nargs="?", metavar="PACKAGE",
                        help="a pulled directory, REF@sha256:…, or NAME:VERSION in the local store (default: the config's model)")  # fmt: skip
    config_option(parser)
    parser.add_argument("--http-port", type=int, default=8080, metavar="PORT", help="HTTP port of the model server (default 8080)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--cache", default=".mlpipex/serve", metavar="DIR", help="where pulled packages are kept")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (off by default: two log lines per request cost more than the model)")  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        from kserve import ModelServer
    except ImportError:
        raise InputError("serving needs KServe's model server", fix="pip install 'mlpipex[kserve]'") from None
    from mlpipex.serving.model import OnnxPackageModel
    from mlpipex.serving.package import open_package

    package = open_package(args.package, config_path=args.config, cache=Path(args.cache))
    model = OnnxPackageModel(package, threads=args.threads)
    model.load()
    print(f"serving {package.name} from {package.model_path} on port {args.http_port} (v1 and v2 REST)", file=sys.stderr)
    # ModelServer reads its own flags from argv: give it only the ones it knows.
    sys.argv = [sys.argv[0], "--http_port", str(args.http_port), "--enable_grpc", "false"]
    server = ModelServer(http_port=args.http_port, enable_grpc=False, enable_latency_logging=args.access_log)
    if not args.access_log:
        import logging

        for name in ("uvicorn.access", "kserve.trace"):
            logging.getLogger(name).disabled = True
    server.start([model])
    return EXIT_OK
