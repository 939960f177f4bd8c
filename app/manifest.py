"""The GitHub App manifest for GitHub's create-from-manifest flow (pure).

Permissions are the least the App needs: check runs and their buttons (checks),
replies and reactions (issues, pull_requests), retraining branches and commits
(contents), GitHub Deployments (deployments), team membership for authorisation
(members, an organisation permission), and metadata (always read).
``installation`` and ``installation_repositories`` events are not listed: GitHub
sends them to every App and rejects them as subscriptions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mlpipex.errors import InputError

__all__ = ["AUTOMATIC_EVENTS", "EVENTS", "PERMISSIONS", "build_manifest"]

PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "pull_requests": "write",
    "issues": "write",
    "contents": "write",
    "deployments": "write",
    "metadata": "read",
    "members": "read",
}
EVENTS: list[str] = ["check_run", "issue_comment", "pull_request", "push"]
AUTOMATIC_EVENTS: list[str] = ["installation", "installation_repositories"]


def build_manifest(url: str, *, name: str = "mlpipex", public: bool = False,
                   redirect_url: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The manifest JSON for an App served at ``url`` (its webhook is ``url/webhooks/github``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InputError(f"--url {url!r} is not an http(s) URL",
                         fix="pass the public base URL of the App, e.g. --url https://mlpipex.example.com")  # fmt: skip
    base = url.rstrip("/")
    manifest: dict[str, Any] = {
        "name": name,
        "url": base,
        "description": "Deployment gates, canary rollouts, ChatOps and retraining PRs for ML models.",
        "hook_attributes": {"url": f"{base}/webhooks/github", "active": True},
        "public": public,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }
    if redirect_url:
        manifest["redirect_url"] = redirect_url
    return manifest
