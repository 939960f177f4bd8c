"""``create_app(settings)``: the FastAPI application, its store and its worker.

The entry point only verifies and dispatches: routes live in webhooks.py,
alert_routes.py and api.py; work happens in job handlers run by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from mlpipex.app.registry import HandlerRegistry, load_handler_modules
from mlpipex.app.settings import Settings
from mlpipex.app.store import Store
from mlpipex.app.worker import Worker
from mlpipex.version import __version__

__all__ = ["AppState", "create_app"]

log = logging.getLogger("mlpipex.app")


@dataclass
class AppState:
    settings: Settings
    webhook_secret: str
    store: Store
    registry: HandlerRegistry
    worker: Worker | None
    github_for: Callable[[int], Any] | None


def _github_factory(settings: Settings) -> Callable[[int], Any] | None:
    key = settings.private_key()
    if settings.app_id is None or key is None:
        log.warning("MLPIPEX_APP_ID or MLPIPEX_PRIVATE_KEY_PATH is not set: handlers cannot call GitHub")
        return None
    from mlpipex.app.github_auth import InstallationTokens

    return InstallationTokens(settings.app_id, key, base_url=settings.github_api_url).github_for


def create_app(settings: Settings | None = None, *, registry: HandlerRegistry | None = None,
               store: Store | None = None, github_for: Callable[[int], Any] | None = None) -> FastAPI:  # fmt: skip
    """The App. Refuses to start (``ConfigError``) without a webhook secret.

    ``registry`` defaults to the handlers of ``HANDLER_MODULES``; ``store`` to one on
    ``settings.database_url``; ``github_for`` to installation tokens from the App's key.
    The worker threads start and stop with the application's lifespan.
    """
    settings = settings or Settings()
    secret = settings.require_webhook_secret()
    registry = registry if registry is not None else load_handler_modules()
    store = store or Store.from_url(settings.database_url.get_secret_value(), max_attempts=settings.job_max_attempts)
    github_for = github_for or _github_factory(settings)
    worker = None
    if settings.worker_threads > 0:
        worker = Worker(store, registry, github_for=github_for, settings=settings, threads=settings.worker_threads,
                        lease_seconds=settings.job_lease_seconds, poll_interval=settings.poll_interval,
                        retention_days=settings.retention_days)  # fmt: skip
    store.create_schema()
    state = AppState(settings, secret, store, registry, worker, github_for)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            from mlpipex.app.schedules import start_ticking

            start_ticking(store)  # scheduled retraining: one tick a minute across all replicas
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    from mlpipex.app import alert_routes, api, retrain_requests, webhooks
    from mlpipex.asgi import HotRoutedFastAPI

    app = HotRoutedFastAPI(title="mlpipex GitHub App", version=__version__, lifespan=lifespan,
                  description="Webhooks, alert intake and the audit log of the mlpipex GitHub App.")  # fmt: skip
    app.state.mlpipex = state
    app.include_router(webhooks.router, tags=["webhooks"])
    app.include_router(alert_routes.router, tags=["alerts"])
    app.include_router(retrain_requests.router, tags=["alerts"])
    app.include_router(api.router, tags=["operations"])
    # The webhook route is answered ahead of FastAPI's routing (declared above for the docs).
    app.serve_hot("POST", "/webhooks/github", webhooks.WebhookIntake(state))
    _document_raw_bodies(app)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    """Add the alert bodies' schemas to the OpenAPI description.

    The alert routes read the raw body (authentication comes before parsing), so
    FastAPI does not see their models; the description still names them.
    """
    from mlpipex.app.alerts import AlertmanagerNotification, DriftAlert
    from mlpipex.app.retrain_requests import RetrainRequest

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (DriftAlert, AlertmanagerNotification, RetrainRequest):
                described = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(described.pop("$defs", {}))
                components[model.__name__] = described
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
