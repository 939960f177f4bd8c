"""``mlpipex serve``: serve a package with KServe's own model server (v1 and v2 REST)."""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--host", default=os.environ.get(HOST_ENV, "127.0.0.1"), metavar="ADDRESS",
                        help=f"address to bind (default 127.0.0.1, or ${HOST_ENV}); the KServe runtime passes 0.0.0.0")  # fmt: skip
    parser.add_argument("--max-body-size", type=_size, default=DEFAULT_MAX_BODY, metavar="SIZE",
                        help="largest request body, e.g. 16MiB or 1048576 bytes (default 16MiB); larger ones get 413")  # fmt: skip
    parser.add_argument("--safe-cast", action="store_true",
                        help="accept any numeric datatype and cast it to the input's (default: the signature's datatype only)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--cache", default=".mlpipex/serve", metavar="DIR", help="where pulled packages are kept")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (off by default: two log lines per request cost more than the model)")  # fmt: skip
    parser.set_defaults(handler=run)


HOST_ENV = "MLPIPEX_SERVE_HOST"
DEFAULT_MAX_BODY = 16 * 1024 * 1024  # well above a 4,096-row FP32 batch of 30 features in JSON
_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "k": 1024, "mb": 1000**2, "mib": 1024**2, "m": 1024**2,
          "gb": 1000**3, "gib": 1024**3, "g": 1024**3}  # fmt: skip


def _size(text: str) -> int:
    """``16MiB``, ``500kb``, ``1048576`` -> bytes."""
    number = text.strip().rstrip("bBiIkKmMgG")
    unit = text.strip()[len(number):].lower()
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write e.g. 16MiB, 500kB or 1048576") from None
    if value < 1:
        raise argparse.ArgumentTypeError("the body-size limit must be at least 1 byte")
    return int(value)


def run(args: argparse.Namespace) -> int:
    try:
        from kserve import ModelServer
    except ImportError:
        raise InputError("serving needs KServe's model server", fix="pip install 'mlpipex[kserve]'") from None
    from mlpipex.serving.model import PackageModel
    from mlpipex.serving.package import open_package

    package = open_package(args.package, config_path=args.config, cache=Path(args.cache))
    model = PackageModel(package, threads=args.threads, safe_cast=args.safe_cast)
    model.load()
    _bind(args.host, args.max_body_size)
    print(f"serving {package.name} from {package.model_path} on http://{args.host}:{args.http_port} "
          f"(v1 and v2 REST; bodies up to {args.max_body_size} bytes)", file=sys.stderr)  # fmt: skip
    # ModelServer reads its own flags from argv: give it only the ones it knows.
    sys.argv = [sys.argv[0], "--http_port", str(args.http_port), "--enable_grpc", "false"]
    server = ModelServer(http_port=args.http_port, enable_grpc=False, enable_latency_logging=args.access_log)
    if not args.access_log:
        import logging

        for name in ("uvicorn.access", "kserve.trace"):
            logging.getLogger(name).disabled = True
    server.start([model])
    return EXIT_OK


def _bind(host: str, max_body_bytes: int) -> None:
    """Put the request guard in front of KServe's app and bind ``host``.

    KServe 0.21 builds one module-level FastAPI app and hard-codes ``host="0.0.0.0"``
    in the uvicorn config of the ``RESTServer`` it creates inside ``start()``; this
    process serves one model and exits, so swapping in a subclass that sets the host is
    the narrowest hook.
    """
    import kserve.model_server
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from kserve.protocol.rest.server import RESTServer

    from mlpipex.serving.guard import RequestGuard, describe_validation_errors

    async def malformed(request: Any, exc: RequestValidationError) -> JSONResponse:
        # FastAPI answers a body that does not fit the v2 schema with 422 and pydantic's
        # detail; the protocol (and the README) says 400 with the field named.
        return JSONResponse({"error": describe_validation_errors(list(exc.errors()))}, status_code=400)

    kserve.model_server.app.add_middleware(RequestGuard, max_body_bytes=max_body_bytes)
    kserve.model_server.app.add_exception_handler(RequestValidationError, malformed)

    class _BoundRESTServer(RESTServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.config.host = host

    kserve.model_server.RESTServer = _BoundRESTServer
