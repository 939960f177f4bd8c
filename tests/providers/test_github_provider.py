"""Reporting to GitHub through PyGithub, against a local API checked with GitHub's OpenAPI description."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlpipex.cli import main
from mlpipex.gates.result import GateResult, Measurement, ModelInfo, Report, Status
from mlpipex.providers.github import GitHubProvider, conclusion_of
from mlpipex.report import marker_for, render_markdown

from .fake_github import SPEC_PATH, FakeGitHub

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason="npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
SHA = "a" * 40


@pytest.fixture
def github(tmp_path):
    with FakeGitHub(per_page=5) as fake:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {
            "number": 7, "head": {"sha": SHA, "ref": "feature", "repo": {"full_name": "acme/models"}},
            "base": {"repo": {"full_name": "acme/models"}}}}))  # fmt: skip
        env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "ghs_test",
               "GITHUB_REPOSITORY": "acme/models", "GITHUB_SHA": "b" * 40, "GITHUB_EVENT_PATH": str(event),
               "GITHUB_RUN_ID": "42", "GITHUB_WORKSPACE": str(tmp_path)}  # fmt: skip
        yield fake, env


def report(*statuses: Status, annotations: int = 0) -> Report:
    gates = [GateResult(f"g{i}", s, f"gate {i} {s.value}",
                        [Measurement(f"m{j}", j, status=Status.FAIL) for j in range(annotations)])
             for i, s in enumerate(statuses)]
    return Report(ModelInfo("fraud", "2.0.0", "m.onnx", sha256="ab" * 32), gates, "2026-11-28T00:00:00+00:00",
                  1.0, {}, "mlpipex.yaml")  # fmt: skip


def test_check_run_and_sticky_comment(github, tmp_path):
    fake, env = github
    provider = GitHubProvider({**env, "MLPIPEX_APP_ID": "1"})  # the OpenAPI example's App creates the runs
    assert provider.context().change == 7 and provider.context().sha == SHA and not provider.context().fork
    provider.started("fraud")
    [run] = fake.check_runs.values()
    assert run["status"] == "in_progress" and run["head_sha"] == SHA and run["name"] == "mlpipex / fraud"
    first = report(Status.PASS, Status.FAIL)
    published = provider.publish(first, render_markdown(first), config_path=str(tmp_path / "mlpipex.yaml"))
    assert published.places == ("check run", "PR comment") and not published.warnings
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert run["output"]["summary"].startswith(marker_for("fraud"))
    assert [a["identifier"] for a in fake.actions[run["id"]]] == ["mlpipex-promote", "mlpipex-rollback"]
    assert fake.annotations[run["id"]][0]["path"] == "mlpipex.yaml"
    # A second run edits the same comment, found on a later page among 12 others.
    for i in range(12):
        fake.add_comment(7, f"someone else {i}")
    second = report(Status.PASS, Status.PASS)
    published = GitHubProvider(env).publish(second, render_markdown(second), config_path="mlpipex.yaml")
    assert "PR comment (updated)" in published.places
    ours = [c for c in fake.comments[7] if c["body"].startswith(marker_for("fraud"))]
    assert len(ours) == 1 and "passed" in ours[0]["body"]
    assert len(fake.check_runs) == 2 and list(fake.check_runs.values())[1]["conclusion"] == "success"


def test_annotations_are_sent_fifty_at_a_time(github):
    fake, env = github
    many = report(Status.FAIL, annotations=120)  # 1 for the gate + 120 measurements
    GitHubProvider(env).publish(many, render_markdown(many), config_path="mlpipex.yaml")
    [run] = fake.check_runs.values()
    sizes = [len(body["output"]["annotations"]) for method, path, body in fake.calls
             if "/check-runs" in path and body and "output" in body]  # fmt: skip
    assert sizes == [50, 50, 21] and len(fake.annotations[run["id"]]) == 121


def test_read_only_token_warns_unless_strict(github, tmp_path):
    fake, env = github
    fake.read_only = True
    env = {**env, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = GitHubProvider(env).publish(report(Status.PASS), "x", config_path="mlpipex.yaml")
    assert result.places == ("job summary",) and "403" in result.warnings[0] and "job summary" in result.warnings[0]
    from mlpipex.errors import ExternalError

    with pytest.raises(ExternalError, match="could not report to GitHub"):
        GitHubProvider(env, strict=True).publish(report(Status.PASS), "x", config_path="mlpipex.yaml")


def test_fork_pull_requests_never_write(github, tmp_path):
    fake, env = github
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    event["pull_request"]["head"]["repo"]["full_name"] = "mallory/models"
    (tmp_path / "fork.json").write_text(json.dumps(event))
    provider = GitHubProvider({**env, "GITHUB_EVENT_PATH": str(tmp_path / "fork.json")})
    assert provider.context().fork
    provider.started("fraud")
    result = provider.publish(report(Status.PASS), "x", config_path="mlpipex.yaml")
    assert "fork" in result.warnings[0]
    assert not [c for c in fake.calls if c[0] != "GET"]


def test_retries_honour_retry_after_then_give_up(github):
    fake, env = github
    limited = {"message": "You have exceeded a secondary rate limit", "documentation_url": "https://docs.github.com/rest"}
    fake.faults = [(502, {}, {"message": "Bad Gateway"}), (403, {"Retry-After": "2"}, limited)]
    started = time.monotonic()
    result = GitHubProvider(env, retries=3, secondary_rate_wait=1).publish(report(Status.PASS), "x", config_path="m.yaml")
    assert "check run" in result.places
    assert time.monotonic() - started >= 2.0  # it waited as long as GitHub asked
    from mlpipex.errors import ExternalError

    fake.faults = [(502, {}, {"message": "Bad Gateway"})] * 10
    with pytest.raises(ExternalError, match="GitHub failed") as caught:
        GitHubProvider(env, retries=2).publish(report(Status.PASS), "x", config_path="m.yaml")
    assert caught.value.exit_code == 3 and "rerun" in str(caught.value)
    assert len(fake.check_runs) == 1  # the failed attempts created nothing


def test_conclusions():
    assert conclusion_of(report(Status.PASS)) == "success"
    assert conclusion_of(report(Status.WARN)) == "neutral"
    assert conclusion_of(report(Status.PASS, Status.ERROR)) == "failure"


def test_gate_command_reports_to_github(github, quickstart, monkeypatch, capsys):
    fake, env = github
    for key, value in {**env, "GITHUB_WORKSPACE": str(quickstart), "GITHUB_OUTPUT": str(quickstart / "out.txt")}.items():
        monkeypatch.setenv(key, value)
    code = main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--only", "schema,smoke",
                 "--report-dir", str(quickstart / "out")])  # fmt: skip
    assert code == 0
    [run] = fake.check_runs.values()
    assert run["conclusion"] == "success" and run["name"] == "mlpipex / breast-cancer"
    assert fake.comments[7][0]["body"].startswith(marker_for("breast-cancer"))
    outputs = (quickstart / "out.txt").read_text()
    assert "verdict=pass" in outputs and "exit-code=0" in outputs


def test_push_links_the_package_to_the_gate_check_run(github, tmp_path):
    from github import Auth, Github

    from mlpipex.app.forge import RepoForge

    from .fake_github_app import FakeGitHubApp

    _, env = github
    artifact = "ghcr.io/acme/models/fraud:2.0.0@sha256:" + "f" * 64
    with FakeGitHubApp() as fake:
        env = {**env, "GITHUB_API_URL": fake.url}
        provider = GitHubProvider(env)
        missing = provider.artifact_pushed("fraud", artifact)
        assert "no `mlpipex / fraud` check run" in missing.warnings[0]
        passed = report(Status.PASS)
        provider.publish(passed, render_markdown(passed), config_path="mlpipex.yaml")
        assert provider.artifact_pushed("fraud", artifact).places == ("gate check run (artifact)",)
        [run] = fake.check_runs.values()
        assert run["external_id"] == artifact and run["conclusion"] == "success"
        gate = RepoForge(Github(auth=Auth.Token("t"), base_url=fake.url), "acme/models", gate_apps=frozenset({1})).gate_run(SHA, "fraud")
        assert gate is not None and gate.artifact == artifact  # what the App deploys on merge


GITHUB_ACTIONS_APP = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}


@pytest.mark.parametrize("started", [True, False], ids=["created-in-progress", "created-at-the-end"])
def test_buttons_only_on_a_run_that_mlpipex_app_created(github, tmp_path, started):
    """Issue 18: GitHub sends `requested_action` only to the run's creator; on a GITHUB_TOKEN run they do nothing."""
    fake, env = github
    fake.check_run_app = GITHUB_ACTIONS_APP  # a workflow's GITHUB_TOKEN
    for settings in ({}, {"MLPIPEX_APP_ID": "777"}):
        provider = GitHubProvider({**env, **settings})
        if started:
            provider.started("fraud")
        provider.publish(report(Status.PASS), render_markdown(report(Status.PASS)), config_path=str(tmp_path / "mlpipex.yaml"))
    assert len(fake.check_runs) == 2 and not fake.actions
    assert not [c for c in fake.calls if c[2] and "actions" in c[2]]

    fake.check_run_app = {"id": 777, "slug": "mlpipex", "name": "mlpipex"}  # the token of mlpipex's App
    provider = GitHubProvider({**env, "MLPIPEX_APP_ID": "777"})
    if started:
        provider.started("fraud")
    provider.publish(report(Status.PASS), render_markdown(report(Status.PASS)), config_path=str(tmp_path / "mlpipex.yaml"))
    [(run_id, actions)] = fake.actions.items()
    assert [a["identifier"] for a in actions] == ["mlpipex-promote", "mlpipex-rollback"]
    assert fake.check_runs[run_id]["status"] == "completed"


def test_a_missing_github_extra_never_fails_a_done_deploy(github, monkeypatch):
    """Issue 18: `extras: kserve` dropped `github`; after the rollout the report step exited 2."""
    import sys

    from mlpipex.providers import DeployEvent

    fake, env = github
    monkeypatch.setitem(sys.modules, "github", None)  # `import github` raises ImportError
    provider = GitHubProvider(env)
    published = provider.deployed(DeployEvent("deploy", "fraud", "staging", "fraud", ok=True, message="done"), "done")
    assert not fake.calls
    [warning] = published.warnings
    assert "`github` extra" in warning and "pip install 'mlpipex[github]'" in warning
    provider.started("fraud")  # the gate side: a warning too, never exit 2
    assert "`github` extra" in provider.publish(report(Status.PASS), "x", config_path="mlpipex.yaml").warnings[0]
