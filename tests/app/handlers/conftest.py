"""The App end to end in one process: signed webhooks in, the worker runs handlers against
the fake GitHub (OpenAPI-checked) and the fake Kubernetes API (CRD-checked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("fastapi", reason="the App's tests need the app extra (pip install -e '.[test]')")

from fastapi.testclient import TestClient
from github import Auth, Github
from providers.fake_github import SPEC_PATH
from providers.fake_github_app import FakeGitHubApp
from providers.github_webhooks import webhook

from mlpipex.app import create_app
from mlpipex.app.auth import sign
from mlpipex.app.settings import Settings
from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, WEIGHTING, FakeKubernetes

SECRET = "handlers-secret"
OUR_APP_ID = 1  # the App the fake GitHub names as a check run's author (its OpenAPI example's)
REPO = "acme/models"
A = "ghcr.io/acme/models/bc@sha256:" + "a" * 64
B = "ghcr.io/acme/models/bc@sha256:" + "b" * 64


def repo_config(quickstart: Path, *, canary_metrics: bool = False) -> str:
    data = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    canary: dict[str, Any] = {"steps": [10, 50, 100]}
    if canary_metrics:
        canary.update(interval="1s", min_samples=5, metrics=[{"name": "latency_p95", "margin": 0.2, "query": "q"}])
    # fetch: the made-up digests name no modelcar image; WEIGHTING (below): production's Standard-mode canary splits
    # environment_tags off: the digests are made up on ghcr.io (test_environment_tag_warning.py turns them on)
    data["deploy"] = {"storage": "fetch", "environment_tags": False, "environments": [
        {"name": "staging", "context": "fake", "namespace": "ml-staging", "auto_deploy": True},
        {"name": "production", "context": "fake", "namespace": "ml-prod", "rules": {"after": "staging"}, "canary": canary},
    ]}  # fmt: skip
    data["chatops"] = {"permissions": {"promote": "maintain"}, "require_green_gates": False}
    data["retraining"] = {"labels": ["retraining", "ml"]}
    return yaml.safe_dump(data, sort_keys=False)


def pull_links(number: int) -> dict[str, str]:
    """``issue.pull_request`` of a comment on a pull request, as GitHub sends it."""
    base = f"https://api.github.com/repos/{REPO}"
    return {"url": f"{base}/pulls/{number}", "html_url": f"https://github.com/{REPO}/pull/{number}",
            "diff_url": f"https://github.com/{REPO}/pull/{number}.diff", "patch_url": f"https://github.com/{REPO}/pull/{number}.patch"}  # fmt: skip


class World:
    """One repository on GitHub, one cluster, one App; helpers to make things happen."""

    def __init__(self, github: FakeGitHubApp, kube: FakeKubernetes, client: TestClient) -> None:
        self.github, self.kube, self.client = github, kube, client
        self.app = client.app.state.mlpipex  # type: ignore[attr-defined]
        self.store = self.app.store
        from mlpipex.app.worker import Worker

        self.worker = Worker(self.store, self.app.registry, github_for=self.app.github_for, settings=self.app.settings)
        github.roles.update(lead="maintain", dev="write", reader="read", admin="admin")
        # The App learns which installation serves the repository from the installation event.
        self.deliver("installation", {"action": "created", "installation": {"id": 7, "account": {"login": "acme"}},
                                      "repositories": [{"full_name": REPO}], "sender": {"login": "admin"}})  # fmt: skip
        self.work()

    def deliver(self, event: str, payload: dict[str, Any], *, delivery: str | None = None,
                client: TestClient | None = None) -> int:  # fmt: skip
        # A real example of the event with these fields in: the App checks GitHub's schema at intake.
        about = {} if event.startswith("installation") else {"repository": {"full_name": REPO}}  # GitHub sends none there
        payload = webhook(event, {**about, "installation": {"id": 7, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw=="}, **payload})
        import json

        body = json.dumps(payload).encode()
        response = (client or self.client).post("/webhooks/github", content=body, headers={
            "Content-Type": "application/json", "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "X-Hub-Signature-256": sign(SECRET, body)})  # fmt: skip
        assert response.status_code in (200, 202), response.text
        return response.status_code

    def work(self, limit: int = 20) -> int:
        """Run due jobs until none is left; how many ran."""
        ran = 0
        while ran < limit and self.worker.run_once():
            ran += 1
        return ran

    def comment(self, number: int, author: str, body: str) -> dict[str, Any]:
        comment = self.github.post_comment(number, author, body)
        self.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": author},
                                       "issue": {"number": number, "pull_request": pull_links(number)}})  # fmt: skip
        self.work()
        return comment

    def gate(self, sha: str, conclusion: str = "success", artifact: str | None = A) -> None:
        repo = Github(auth=Auth.Token("t"), base_url=self.github.url, seconds_between_writes=0).get_repo(REPO)
        repo.create_check_run(name="mlpipex / breast-cancer", head_sha=sha, status="completed", conclusion=conclusion,
                              **({"external_id": artifact} if artifact else {}))  # fmt: skip

    def merge(self, number: int, *, sender: str = "lead") -> None:
        pull = self.github.pulls[number]
        pull.update(merged=True, state="closed")
        base = pull["base_ref"]
        self.github.commit(base, {}, parent=self.github.branches[base])
        head_repo = "someone/fork" if pull["fork"] else REPO
        self.deliver("pull_request", {"action": "closed", "number": number, "sender": {"login": sender},
                                      "pull_request": {"number": number, "merged": True, "merge_commit_sha": self.github.branches[base],
                                                       "head": {"sha": pull["head_sha"], "repo": {"full_name": head_repo}},
                                                       "base": {"ref": base, "repo": {"full_name": REPO}}}})  # fmt: skip
        self.work()

    def ship(self, number: int, artifact: str, *, promote: bool = False) -> str:
        """A pull request whose gates passed with ``artifact``, merged (→ staging), and
        optionally `/promote production` by a maintainer; the head commit."""
        head = self.github.open_pull(number, head=f"change-{number}", author="dev")
        self.gate(head, artifact=artifact)
        self.merge(number)
        if promote:
            self.comment(number, "lead", "/promote production")
        return head

    def canary_in_production(self) -> None:
        """A in production, B its canary at the first step (10%)."""
        self.ship(5, A, promote=True)
        self.ship(6, B, promote=True)
        assert self.serving("ml-prod") == (B, 10)

    def serving(self, namespace: str) -> tuple[str | None, int]:
        from mlpipex.kserve.rollout import state_of

        state = state_of(self.kube.objects.get((namespace, "breast-cancer")))
        return state.artifact, state.traffic

    def last_reply(self, number: int) -> str:
        return self.github.replies(number)[-1]


@pytest.fixture
def world(quickstart: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    if not SPEC_PATH.exists():
        pytest.skip("npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")
    option = getattr(request, "param", False)  # True: canary metrics; "postgres": the store on PostgreSQL
    metrics = option is True
    database = request.getfixturevalue("postgres").database() if option == "postgres" else f"sqlite:///{tmp_path / 'app.db'}"
    with FakeGitHubApp(REPO) as github, FakeKubernetes(kserve=WEIGHTING) as kube:
        github.commit("main", {"mlpipex.yaml": repo_config(quickstart, canary_metrics=metrics)})
        kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", context="fake")
        settings = Settings(webhook_secret=SECRET, database_url=database, worker_threads=0, app_id=OUR_APP_ID,
                            kubeconfig=kubeconfig, rollout_timeout=5, alert_token="alert-token")  # fmt: skip
        client = Github(auth=Auth.Token("ghs_installation"), base_url=github.url, retry=None,
                        seconds_between_requests=0, seconds_between_writes=0)  # PyGithub paces writes 1 s apart by default
        app = create_app(settings, github_for=lambda installation_id: client)
        with TestClient(app) as test_client:
            yield World(github, kube, test_client)
