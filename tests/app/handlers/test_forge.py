"""The App's GitHub surface (app/forge.py) against the fake API checked with GitHub's OpenAPI description."""

from __future__ import annotations

import pytest
from github import Auth, Github
from providers.fake_github import SPEC_PATH
from providers.fake_github_app import FakeGitHubApp

from mlpipex.app.forge import RepoForge
from mlpipex.errors import ConfigError

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason="npm @octokit/openapi is not installed (`make test` installs it into .tools/)")

CONFIG = """apiVersion: mlpipex/v1
model: {name: fraud, version: 1.0.0, path: models/model.onnx, task: classification}
data: {holdout: data/holdout.csv, label: target}
chatops: {permissions: {promote: maintain}}
"""


@pytest.fixture
def github():
    with FakeGitHubApp() as fake:
        fake.commit("main", {"mlpipex.yaml": CONFIG, "churn/mlpipex.yaml": CONFIG.replace("fraud", "churn"), "README.md": "hi"})
        yield fake, RepoForge(Github(auth=Auth.Token("ghs_x"), base_url=fake.url, retry=None), "acme/models", gate_apps=frozenset({1}))


def test_who_is_asking(github):
    fake, forge = github
    fake.roles.update(lead="maintain", dev="write")
    fake.team_members["acme/ml-release"] = {"dev"}
    assert forge.permission("lead") == "maintain" and forge.permission("dev") == "write"
    assert forge.permission("stranger") == "none"
    assert forge.teams_of("dev", ["acme/ml-release", "acme/other"]) == frozenset({"acme/ml-release"})
    assert forge.teams_of("lead", ["acme/ml-release"]) == frozenset()


def test_pull_request_facts(github):
    fake, forge = github
    head = fake.open_pull(5, head="feature", files={"mlpipex.yaml": CONFIG.replace("maintain", "read")})
    fake.review(5, "alice")
    fake.review(5, "bob", "CHANGES_REQUESTED")
    fake.review(5, "bob")  # bob's latest review approves
    fake.review(5, "carol", "CHANGES_REQUESTED")
    pull, facts = forge.facts(5, "fraud")
    assert pull.head_sha == head and pull.base_ref == "main" and not pull.fork
    assert facts.approvals == 2 and facts.gates_green is None  # no gate check run yet
    forge.repo.create_check_run(name="mlpipex / fraud", head_sha=head, status="completed", conclusion="success",
                                external_id="ghcr.io/acme/fraud@sha256:" + "a" * 64)  # fmt: skip
    gate = forge.gate_run(head, "fraud")
    assert gate is not None and gate.conclusion == "success" and gate.artifact.endswith("a" * 64)
    assert forge.facts(5, "fraud")[1].gates_green is True
    fake.open_pull(6, head="from-fork", fork=True)
    assert forge.pull(6).fork


def test_configs_come_from_the_ref_asked_for(github):
    fake, forge = github
    fake.open_pull(5, head="feature", files={"mlpipex.yaml": CONFIG.replace("maintain", "read")})
    base = {c.model.name: c for c in forge.configs("main")}
    assert sorted(base) == ["churn", "fraud"] and base["fraud"].chatops.permissions["promote"] == "maintain"
    assert {c.model.name: c for c in forge.configs("feature")}["fraud"].chatops.permissions["promote"] == "read"


def test_a_config_never_reads_the_apps_environment(github, monkeypatch):
    fake, forge = github
    monkeypatch.setenv("MLPIPEX_WEBHOOK_SECRET", "s3cret")
    fake.commit("main", {"mlpipex.yaml": CONFIG.replace("1.0.0", "${MLPIPEX_WEBHOOK_SECRET}")})
    with pytest.raises(ConfigError) as caught:
        forge.config_at("mlpipex.yaml", "main")
    assert "s3cret" not in str(caught.value) and "acme/models@main:mlpipex.yaml" in str(caught.value)


def test_answers_and_deployments(github):
    fake, forge = github
    fake.open_pull(5, head="feature")
    comment = fake.post_comment(5, "dev", "/promote")
    forge.react(5, comment["id"], "eyes")
    forge.reply(5, "on it")
    assert fake.reactions[comment["id"]] == ["eyes"] and fake.replies(5)[-1] == "on it"
    forge.record_deployment(sha=fake.branches["main"], environment="staging", artifact="ghcr.io/a@sha256:" + "b" * 64,
                            state="success", description="deploy at 100%", log_url="https://ci/1")  # fmt: skip
    [deployment] = fake.deployments
    assert deployment["environment"] == "staging" and deployment["payload"]["artifact"].endswith("b" * 64)
    assert deployment["statuses"][0]["state"] == "success" and deployment["statuses"][0]["target_url"] == "https://ci/1"


def test_one_job_reads_a_pull_request_and_a_refs_configs_once(github):
    fake, forge = github
    fake.open_pull(5, head="feature")
    for _ in range(3):
        forge.configs("main")
        forge.facts(5, "fraud")
    reads = [path for method, path, _ in fake.calls if method == "GET"]
    assert reads.count("/repos/acme/models/git/trees/main") == 1
    assert reads.count("/repos/acme/models/pulls/5") == 1
