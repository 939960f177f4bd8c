"""Jenkins builds report to the GitHub pull request: context from Jenkins' variables, the same check run and comment."""

from __future__ import annotations

import pytest

from mlpipex.gates.result import GateResult, ModelInfo, Report, Status
from mlpipex.providers import detect, provider_for
from mlpipex.providers.jenkins import JenkinsProvider, jenkins_context, repository_of
from mlpipex.report import marker_for, render_markdown

from .fake_github import SPEC_PATH, FakeGitHub

HEAD = "c" * 40


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/acme/models.git", ("github.com", "acme/models")),
    ("https://github.com/acme/models", ("github.com", "acme/models")),
    ("git@github.com:acme/models.git", ("github.com", "acme/models")),
    ("ssh://git@github.example.com:2222/acme/models.git", ("github.example.com", "acme/models")),
    ("https://user:token@github.com/acme/models.git", ("github.com", "acme/models")),
    ("https://github.com/acme/models/pull/17", ("github.com", "acme/models")),
    ("https://github.com/acme", None),
    ("not a url", None),
    ("", None),
])  # fmt: skip
def test_repository_from_git_remotes_and_pull_request_urls(url, expected):
    assert repository_of(url) == expected


def test_context_from_a_multibranch_pull_request_build():
    env = {"JENKINS_URL": "https://ci.example.com/", "CHANGE_ID": "17", "CHANGE_BRANCH": "feature",
           "CHANGE_URL": "https://github.example.com/acme/models/pull/17", "GIT_COMMIT": "m" * 40,
           "MLPIPEX_SHA": HEAD, "BUILD_URL": "https://ci.example.com/job/models/PR-17/3/"}  # fmt: skip
    context, api = jenkins_context(env)
    assert (context.repository, context.change, context.sha, context.branch) == ("acme/models", 17, HEAD, "feature")
    assert context.run_url == env["BUILD_URL"] and not context.fork
    assert api == "https://github.example.com/api/v3"  # GitHub Enterprise: from the remote's host
    assert jenkins_context({**env, "CHANGE_FORK": "someone"})[0].fork
    branch, api = jenkins_context({"GIT_URL": "git@github.com:acme/models.git", "GIT_COMMIT": HEAD, "BRANCH_NAME": "main"})
    assert branch.change is None and branch.sha == HEAD and branch.branch == "main" and api == "https://api.github.com"


def test_detected_from_the_environment():
    assert detect({"JENKINS_URL": "https://ci/"}) == "jenkins"
    assert detect({"JENKINS_URL": "https://ci/", "GITHUB_ACTIONS": "true"}) == "github"
    assert isinstance(provider_for(environ={"JENKINS_URL": "https://ci/"}), JenkinsProvider)


def _report() -> Report:
    gates = [GateResult("smoke", Status.PASS, "ok"), GateResult("latency", Status.FAIL, "p95 too high")]
    return Report(ModelInfo("fraud", "2.0.0", "m.onnx"), gates, "2026-11-28T00:00:00+00:00", 1.0, {}, "mlpipex.yaml")


@pytest.mark.skipif(not SPEC_PATH.exists(), reason="npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
def test_a_jenkins_build_posts_the_check_run_and_the_sticky_comment(tmp_path):
    with FakeGitHub() as fake:
        env = {"JENKINS_URL": "https://ci/", "CHANGE_ID": "17", "CHANGE_URL": "https://github.com/acme/models/pull/17",
               "GIT_COMMIT": HEAD, "BUILD_URL": "https://ci/job/1/", "GITHUB_TOKEN": "ghs_installation",
               "MLPIPEX_GITHUB_API_URL": fake.url, "MLPIPEX_OUTPUTS": str(tmp_path / "out" / "outputs.env")}  # fmt: skip
        provider = JenkinsProvider(env)
        provider.started("fraud")
        report = _report()
        published = provider.publish(report, render_markdown(report), config_path="mlpipex.yaml")
        assert published.places == ("check run", "PR comment") and not published.warnings
        [run] = fake.check_runs.values()
        assert run["head_sha"] == HEAD and run["conclusion"] == "failure" and run["name"] == "mlpipex / fraud"
        assert fake.comments[17][0]["body"].startswith(marker_for("fraud"))
        assert not fake.violations
        provider.write_outputs({"verdict": "fail"})
        assert (tmp_path / "out" / "outputs.env").read_text() == "verdict=fail\n"
        forked = JenkinsProvider({**env, "CHANGE_FORK": "someone"}).publish(report, "x", config_path="mlpipex.yaml")
        assert "fork" in forked.warnings[0] and "archived report.md" in forked.warnings[0]
        assert len(fake.check_runs) == 1  # the fork's build wrote nothing
        without_token = {k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
        quiet = JenkinsProvider(without_token).publish(report, "x", config_path="mlpipex.yaml")
        assert "no GitHub token" in quiet.warnings[0]
