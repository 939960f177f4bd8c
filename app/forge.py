"""What the App's handlers ask of GitHub, in one module over PyGithub.

Handlers never call PyGithub themselves: they get a :class:`RepoForge` for the
repository an event is about, so the whole GitHub surface the App uses is here,
and tests run it against the fake GitHub API (checked with GitHub's OpenAPI
description). Configuration is always read at an explicit ref: the base branch's
for anything that deploys, never the pull request's head.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlpipex.app.chatops import PullFacts
from mlpipex.errors import ConfigError
from mlpipex.providers.checks import check_name

if TYPE_CHECKING:
    from github import Github

    from mlpipex.app.registry import JobContext
    from mlpipex.config import Config

__all__ = ["CONFIG_NAME", "GateRun", "Pull", "PullLink", "RepoForge", "gate_check_name"]

CONFIG_NAME = "mlpipex.yaml"
MAX_CONFIGS = 50  # a monorepo may have a config per model; more than this is a mistake


def gate_check_name(model: str) -> str:
    """The check run `mlpipex gate` creates for ``model`` (defined in mlpipex.providers.checks)."""
    return check_name(model)


@dataclass(frozen=True)
class GateRun:
    conclusion: str | None  # success, failure, neutral, … or None while it runs
    artifact: str | None  # REF@DIGEST recorded by `mlpipex push` (the check run's external_id)
    url: str | None


@dataclass(frozen=True)
class PullLink:
    """A pull request the App opened or found: enough to point people at it."""

    number: int
    url: str


@dataclass(frozen=True)
class Pull:
    number: int
    head_sha: str
    base_ref: str
    merged: bool
    fork: bool
    author: str


class RepoForge:
    def __init__(self, github: Github, repository: str, *, gate_apps: frozenset[int] = frozenset()) -> None:
        self.github = github
        self.full_name = repository
        # The Apps (by id: the mlpipex App's own, unless settings list others) whose check runs
        # count as gate results. Any other App, or a workflow's GITHUB_TOKEN on any branch, can
        # create a run named "mlpipex / MODEL" with a passing conclusion and an artifact.
        self.gate_apps = gate_apps
        self._repo: Any = None
        # One forge serves one job: a pull request and a ref's configs do not change under
        # it, so each is read once however many steps (parse, authorise, act) ask.
        self._pulls: dict[int, Any] = {}
        self._configs: dict[str, list[Config]] = {}

    @classmethod
    def for_job(cls, ctx: JobContext, repository: str) -> RepoForge:
        """The forge a job uses: this installation's client, and the App's id from the settings."""
        return cls(ctx.github(), repository, gate_apps=ctx.settings.trusted_gate_apps() if ctx.settings else frozenset())

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.github.get_repo(self.full_name)
        return self._repo

    # -- who is asking ------------------------------------------------------------

    def permission(self, login: str) -> str:
        """The commenter's role: admin, maintain, write, triage, read or none."""
        from github import GithubException

        try:
            _, data = self.repo._requester.requestJsonAndCheck(
                "GET", f"{self.repo.url}/collaborators/{login}/permission")  # fmt: skip
        except GithubException as exc:
            if exc.status == 404:  # not a collaborator at all
                return "none"
            raise
        return str(data.get("role_name") or data.get("permission") or "none")

    def teams_of(self, login: str, teams: Iterable[str]) -> frozenset[str]:
        """Which of ``teams`` (``org/slug``) ``login`` is an active member of."""
        from github import GithubException

        found = set()
        for team in teams:
            org, _, slug = team.partition("/")
            try:
                _, data = self.repo._requester.requestJsonAndCheck(
                    "GET", f"/orgs/{org}/teams/{slug}/memberships/{login}")  # fmt: skip
            except GithubException as exc:
                if exc.status == 404:
                    continue
                raise
            if data.get("state") == "active":
                found.add(team)
        return frozenset(found)

    # -- the pull request -----------------------------------------------------------

    def _pull(self, number: int) -> Any:
        if number not in self._pulls:
            self._pulls[number] = self.repo.get_pull(number)
        return self._pulls[number]

    def pull(self, number: int) -> Pull:
        pr = self._pull(number)
        head_repo = pr.head.repo.full_name if pr.head.repo else None
        return Pull(number, pr.head.sha, pr.base.ref, bool(pr.merged), head_repo != self.repo.full_name,
                    pr.user.login if pr.user else "")  # fmt: skip

    def approvals(self, number: int, head_sha: str) -> int:
        """Distinct reviewers whose latest review approves the current head."""
        latest: dict[str, Any] = {}
        for review in self._pull(number).get_reviews():
            if review.user is not None and review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.user.login] = review
        return sum(1 for r in latest.values() if r.state == "APPROVED" and r.commit_id == head_sha)

    def gate_run(self, sha: str, model: str) -> GateRun | None:
        """The newest gate check run for ``model`` on ``sha`` created by one of ``gate_apps``
        (a run by any other App or token is not a gate result, whatever it is called)."""
        runs = [run for run in self.repo.get_commit(sha).get_check_runs(check_name=gate_check_name(model))
                if run.app is not None and run.app.id in self.gate_apps]  # fmt: skip
        if not runs:
            return None
        newest = max(runs, key=lambda run: run.id)
        artifact = newest.external_id if newest.external_id and "@sha256:" in newest.external_id else None
        return GateRun(newest.conclusion, artifact, newest.html_url)

    def facts(self, number: int, model: str) -> tuple[Pull, PullFacts]:
        pull = self.pull(number)
        gate = self.gate_run(pull.head_sha, model)
        facts = PullFacts(fork=pull.fork, approvals=self.approvals(number, pull.head_sha),
                          gates_green=None if gate is None or gate.conclusion is None else gate.conclusion == "success",
                          head_sha=pull.head_sha)  # fmt: skip
        return pull, facts

    # -- configuration at a ref -------------------------------------------------------

    def default_branch(self) -> str:
        return str(self.repo.default_branch)

    def configs(self, ref: str) -> list[Config]:
        """Every mlpipex.yaml in the tree at ``ref``, loaded without the App's environment."""
        if ref not in self._configs:
            tree = self.repo.get_git_tree(ref, recursive=True)
            paths = sorted(e.path for e in tree.tree if e.type == "blob" and PurePosixPath(e.path).name == CONFIG_NAME)
            self._configs[ref] = [self.config_at(path, ref) for path in paths[:MAX_CONFIGS]]
        return self._configs[ref]

    def config_at(self, path: str, ref: str) -> Config:
        from mlpipex.config import load_config

        content = self.repo.get_contents(path, ref=ref)
        text = content.decoded_content.decode("utf-8", errors="replace")
        with tempfile.TemporaryDirectory(prefix="mlpipex-app-") as tmp:
            local = Path(tmp) / CONFIG_NAME
            local.write_text(text, encoding="utf-8")
            try:
                # environ={}: a repository's ${VAR} must never read the App's own secrets
                return load_config(local, environ={}, check_files=False)
            except ConfigError as exc:
                raise ConfigError(f"{self.full_name}@{ref}:{path}: {exc.message}", fix=exc.fix) from None

    # -- answering ------------------------------------------------------------------------

    def react(self, number: int, comment_id: int, content: str) -> None:
        """👀 ``eyes``, 🚀 ``rocket``, 👎 ``-1`` on a comment of issue or pull request ``number``."""
        self.repo.get_issue(number).get_comment(comment_id).create_reaction(content)

    def reply(self, number: int, text: str) -> None:
        self.repo.get_issue(number).create_comment(text)

    def record_deployment(self, *, sha: str, environment: str, artifact: str | None, state: str,
                          description: str, log_url: str | None = None) -> int:  # fmt: skip
        """A GitHub Deployment and its status, so the repository's environments page shows what runs where."""
        deployment = self.repo.create_deployment(
            ref=sha, environment=environment, payload={"artifact": artifact or ""}, auto_merge=False,
            required_contexts=[], description=description[:140], transient_environment=False,
            production_environment=environment == "production")  # fmt: skip
        status: dict[str, Any] = {"description": description[:140], "environment": environment, "auto_inactive": True}
        if log_url:
            status["target_url"] = log_url
        deployment.create_status(state, **status)
        return int(deployment.id)

    # -- retraining pull requests -------------------------------------------------------------

    def branch_head(self, branch: str) -> str:
        """The commit ``branch`` points at."""
        return str(self.repo.get_branch(branch).commit.sha)

    def open_pull_from(self, branch: str) -> PullLink | None:
        """The open pull request whose head is ``branch`` of this repository, if any."""
        owner = self.full_name.split("/")[0]
        for pr in self.repo.get_pulls(state="open", head=f"{owner}:{branch}"):
            return PullLink(int(pr.number), str(pr.html_url))
        return None

    def update_pull_body(self, number: int, body: str) -> None:
        self.repo.get_pull(number).edit(body=body)

    def ensure_branch(self, branch: str, from_branch: str) -> None:
        from github import GithubException

        try:
            self.repo.get_git_ref(f"heads/{branch}")
        except GithubException as exc:
            if exc.status != 404:
                raise
            self.repo.create_git_ref(ref=f"refs/heads/{branch}", sha=self.branch_head(from_branch))

    def put_file(self, path: str, text: str, *, branch: str, message: str) -> None:
        """Create or replace ``path`` on ``branch`` in one commit."""
        from github import GithubException

        try:
            current = self.repo.get_contents(path, ref=branch)
        except GithubException as exc:
            if exc.status != 404:
                raise
            self.repo.create_file(path, message, text, branch=branch)
            return
        self.repo.update_file(path, message, text, current.sha, branch=branch)

    def open_pull(self, *, title: str, body: str, head: str, base: str, labels: list[str]) -> PullLink:
        pr = self.repo.create_pull(title=title, body=body, head=head, base=base)
        if labels:  # the documented body is {"labels": [...]}; PyGithub's add_to_labels sends a bare list
            self.repo._requester.requestJsonAndCheck("POST", f"{self.repo.url}/issues/{pr.number}/labels",
                                                     input={"labels": labels})  # fmt: skip
        return PullLink(int(pr.number), str(pr.html_url))
