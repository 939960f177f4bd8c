"""The mlpipex GitHub App (import name ``mlpipex.app``).

``create_app(settings)`` builds the FastAPI service; handlers for job kinds register
with ``@register("issue_comment.created")`` in a module listed in
``registry.HANDLER_MODULES`` and receive ``(payload, ctx: JobContext)``.

Names are imported lazily so that the pure parts (``mlpipex.app.alerts``,
``mlpipex.app.manifest``) work in a base install without FastAPI or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpipex.app.registry import (
        HandlerRegistry,
        JobContext,
        PermanentJobError,
        default_registry,
        register,
    )
    from mlpipex.app.service import create_app
    from mlpipex.app.settings import Settings
    from mlpipex.app.store import LockHeld, LockResult, Store

__all__ = [
    "HandlerRegistry",
    "JobContext",
    "LockHeld",
    "LockResult",
    "PermanentJobError",
    "Settings",
    "Store",
    "create_app",
    "default_registry",
    "register",
]

_WHERE = {
    "HandlerRegistry": "mlpipex.app.registry",
    "JobContext": "mlpipex.app.registry",
    "PermanentJobError": "mlpipex.app.registry",
    "default_registry": "mlpipex.app.registry",
    "register": "mlpipex.app.registry",
    "create_app": "mlpipex.app.service",
    "Settings": "mlpipex.app.settings",
    "LockHeld": "mlpipex.app.store",
    "LockResult": "mlpipex.app.store",
    "Store": "mlpipex.app.store",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'mlpipex.app' has no attribute {name!r}")
