"""The App in process against the real control plane: its real webhook endpoint and worker, GitHub
played by the fake validated against GitHub's OpenAPI description, ``settings.kubeconfig`` the
control plane's (what tests/cluster/test_app_chatops.py and the e2e loop drive)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .controlplane import ControlPlane


@contextmanager
def app_on_cluster(plane: ControlPlane, config_yaml: str, database: Path) -> Iterator[tuple[Any, Any]]:
    """(the fake GitHub with ``config_yaml`` as mlpipex.yaml on main, a TestClient of the App)."""
    from app.handlers.conftest import OUR_APP_ID, REPO, SECRET
    from fastapi.testclient import TestClient
    from github import Auth, Github
    from providers.fake_github import SPEC_PATH
    from providers.fake_github_app import FakeGitHubApp

    from mlpipex.app import create_app
    from mlpipex.app.settings import Settings

    if not SPEC_PATH.exists():
        pytest.skip("npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
    with FakeGitHubApp(REPO) as github:
        github.commit("main", {"mlpipex.yaml": config_yaml})
        # The App waits for KServe's Ready as in a cluster: the controller and KWOK take seconds, not the fake's instant.
        settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{database}", worker_threads=0,
                            app_id=OUR_APP_ID, kubeconfig=plane.kubeconfig, rollout_timeout=90,
                            alert_token="alert-token")  # fmt: skip
        client = Github(auth=Auth.Token("ghs_installation"), base_url=github.url, retry=None,
                        seconds_between_requests=0, seconds_between_writes=0)  # fmt: skip
        app = create_app(settings, github_for=lambda installation_id: client)
        with TestClient(app) as test_client:
            yield github, test_client
