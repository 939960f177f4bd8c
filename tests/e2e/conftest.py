"""The App world of the handler tests (fake GitHub and Kubernetes APIs, the App in-process)."""

from app.handlers.conftest import world  # noqa: F401
