"""``mlpipex app serve`` and ``mlpipex app manifest``: run the GitHub App, or describe it to GitHub.

The App brings its own command: the CLI finds this module through the
``mlpipex.commands`` entry-point group (pyproject.toml), so the core never imports
the App. The App's code is imported only when a subcommand runs: the base install
has no FastAPI, and ``mlpipex --help`` must not need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlpipex.errors import EXIT_OK, ConfigError, InputError


def register(commands: Any) -> None:
    parser = commands.add_parser("app", help="run the mlpipex GitHub App, or print its manifest")
    sub = parser.add_subparsers(dest="app_command", metavar="SUBCOMMAND", required=True)

    serve = sub.add_parser("serve", help="serve webhooks, alerts and the audit API (settings from MLPIPEX_* variables)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, default=None, metavar="N",
                       help="job worker threads in this process (default MLPIPEX_WORKER_THREADS or 2; 0: API only)")  # fmt: skip
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="uvicorn log level (default info)")
    serve.set_defaults(handler=run_serve)

    manifest = sub.add_parser("manifest", help="print the GitHub App manifest for GitHub's create-from-manifest flow")
    manifest.add_argument("--url", required=True, help="the App's public base URL (webhooks go to URL/webhooks/github)")
    manifest.add_argument("--name", default="mlpipex", help="the App's name on GitHub")
    manifest.add_argument("--public", action="store_true", help="let other accounts install it")
    manifest.add_argument("--redirect-url", help="where GitHub sends the browser after creating the App")
    manifest.set_defaults(handler=run_manifest)


def _settings(workers: int | None) -> Any:
    try:
        from pydantic import ValidationError

        from mlpipex.app.settings import Settings
    except ImportError:
        raise InputError("the GitHub App needs its extra", fix="pip install 'mlpipex[app]'") from None
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"MLPIPEX_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid App settings: {problems}", fix="correct the environment variables named") from None
    if workers is not None:
        if workers < 0:
            raise InputError("--workers must be 0 or more")
        settings = settings.model_copy(update={"worker_threads": workers})
    return settings


def run_serve(args: argparse.Namespace) -> int:
    settings = _settings(args.workers)
    try:
        import uvicorn

        from mlpipex.app import create_app
    except ImportError:
        raise InputError("the GitHub App needs its extra", fix="pip install 'mlpipex[app]'") from None
    from mlpipex.app.logs import configure_logging

    secrets = [v.get_secret_value() for v in (settings.webhook_secret, settings.api_token, settings.alert_token) if v]
    configure_logging(args.log_level, secrets=[*secrets, *_url_password(settings.database_url.get_secret_value())])
    app = create_app(settings)  # raises ConfigError without a webhook secret, before binding a port
    print(f"mlpipex app: listening on http://{args.host}:{args.port} (webhooks at /webhooks/github, "
          f"{settings.worker_threads} worker threads)", file=sys.stderr)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                proxy_headers=True, server_header=False)  # fmt: skip
    return EXIT_OK


def _url_password(url: str) -> list[str]:
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


def run_manifest(args: argparse.Namespace) -> int:
    from mlpipex.app.manifest import build_manifest

    manifest = build_manifest(args.url, name=args.name, public=args.public, redirect_url=args.redirect_url)
    print(json.dumps(manifest, indent=2))
    return EXIT_OK
