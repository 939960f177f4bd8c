"""Reporting to GitLab through its REST API, against a local API checked with GitLab's OpenAPI description."""

from __future__ import annotations

import pytest

from mlpipex.cli import main
from mlpipex.errors import ExternalError
from mlpipex.gates.result import GateResult, ModelInfo, Report, Status
from mlpipex.providers import DeployEvent, Published, detect, provider_for
from mlpipex.providers.gitlab import NOTE_LIMIT, GitLabProvider, dotenv_key, status_state
from mlpipex.report import marker_for, render_markdown

from .fake_gitlab import FakeGitLab

SHA = "c" * 40
TOKEN = "glpat-secret-value"


@pytest.fixture
def gitlab():
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        env = {"GITLAB_CI": "true", "CI_API_V4_URL": fake.api_url, "MLPIPEX_GITLAB_TOKEN": TOKEN,
               "CI_PROJECT_ID": "42", "CI_PROJECT_PATH": "acme/models", "CI_MERGE_REQUEST_IID": "7",
               "CI_MERGE_REQUEST_PROJECT_ID": "42", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42",
               "CI_COMMIT_SHA": SHA, "CI_COMMIT_REF_NAME": "feature", "CI_PIPELINE_ID": "991",
               "CI_JOB_URL": "https://gitlab.example.com/acme/models/-/jobs/5"}  # fmt: skip
        yield fake, env


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def report(*statuses: Status, fail_on: Status = Status.FAIL, model: str = "fraud") -> Report:
    gates = [GateResult(f"g{i}", s, f"gate {i} {s.value}") for i, s in enumerate(statuses)]
    return Report(ModelInfo(model, "2.0.0", "m.onnx", sha256="ab" * 32), gates, "2026-11-28T00:00:00+00:00",
                  1.0, {}, "mlpipex.yaml", fail_on=fail_on)  # fmt: skip


def ours(fake: FakeGitLab, iid: int = 7) -> list[dict]:
    return [n for n in fake.notes.get(iid, []) if n["body"].startswith(marker_for("fraud"))]


def test_detected_from_gitlab_ci_and_context_from_predefined_variables(gitlab):
    _, env = gitlab
    assert detect(env) == "gitlab" and isinstance(provider_for(environ=env), GitLabProvider)
    context = GitLabProvider(env).context()
    assert (context.repository, context.change, context.sha, context.branch, context.fork) == ("acme/models", 7, SHA, "feature", False)
    assert context.run_url == env["CI_JOB_URL"]


def test_upsert_is_idempotent_one_note_edited_in_place(gitlab):
    fake, env = gitlab
    provider = GitLabProvider(env)
    provider.started("fraud")
    first = report(Status.PASS, Status.FAIL)
    published = provider.publish(first, render_markdown(first), config_path="mlpipex.yaml")
    assert published.places == ("MR note", "commit status") and not published.warnings
    [note] = ours(fake)
    second = report(Status.PASS, Status.PASS)
    published = GitLabProvider(env).publish(second, render_markdown(second), config_path="mlpipex.yaml")
    assert published.places == ("MR note (updated)", "commit status")
    [edited] = ours(fake)
    assert edited["id"] == note["id"] and "passed" in edited["body"].lower()
    assert [c[0] for c in fake.calls if "/notes" in c[1]] == ["GET", "POST", "GET", "PUT"]
    # started → running; then failed (first run), then success (second run); all named per model.
    assert [(s["status"], s["name"]) for s in fake.statuses] == [
        ("running", "mlpipex/fraud"), ("failed", "mlpipex/fraud"), ("success", "mlpipex/fraud")]
    assert fake.statuses[0]["pipeline_id"] == 991 and fake.statuses[0]["target_url"] == env["CI_JOB_URL"]
    assert fake.seen_tokens == {TOKEN}


def test_finds_its_note_past_the_first_hundred(gitlab):
    fake, env = gitlab
    for i in range(150):
        fake.add_note(7, f"review comment {i}")
    fake.add_note(7, "merged by someone", system=True)
    fake.add_note(7, marker_for("fraud") + "\nold report")
    for i in range(60):
        fake.add_note(7, f"later comment {i}")
    result = GitLabProvider(env).publish(report(Status.PASS), marker_for("fraud") + "\nnew", config_path="m.yaml")
    assert result.places[0] == "MR note (updated)"
    pages = [c for c in fake.calls if c[0] == "GET"]
    assert len(pages) == 2  # 212 notes at 100 per page: found on page 2
    [note] = ours(fake)
    assert note["body"].endswith("new") and len(fake.notes[7]) == 212
    # Another model's report is not there: every page is read, then it is created.
    fake.calls.clear()
    GitLabProvider(env).publish(report(Status.PASS, model="other"), marker_for("other") + "\nnew", config_path="m.yaml")
    assert [c[0] for c in fake.calls if "/notes" in c[1]] == ["GET", "GET", "GET", "POST"]


def test_pages_by_x_next_page_when_links_point_elsewhere(gitlab):
    fake, env = gitlab
    fake.link_base = "https://gitlab.example.com/api/v4"  # the token must never follow a link to another host
    for i in range(130):
        fake.add_note(7, f"review comment {i}")
    fake.add_note(7, marker_for("fraud") + "\nold report")
    result = GitLabProvider(env).publish(report(Status.PASS), marker_for("fraud") + "\nnew", config_path="m.yaml")
    assert result.places[0] == "MR note (updated)" and ours(fake)[0]["body"].endswith("new")
    assert len([c for c in fake.calls if c[0] == "GET"]) == 2


def test_long_reports_are_cut_to_gitlabs_note_limit(gitlab):
    fake, env = gitlab
    huge = marker_for("fraud") + "\n" + "x" * (NOTE_LIMIT + 5000)
    GitLabProvider(env).publish(report(Status.PASS), huge, config_path="m.yaml")
    [note] = ours(fake)
    assert len(note["body"]) == NOTE_LIMIT and "truncated" in note["body"][-100:]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_warns_keeps_the_verdict_unless_strict(gitlab, status):
    fake, env = gitlab
    fake.faults = [(status, {}, {"message": f"{status} Forbidden"})] * 3
    result = GitLabProvider(env).publish(report(Status.PASS), "x", config_path="m.yaml")
    assert result.places == ("job log",) and str(status) in result.warnings[0]
    assert TOKEN not in result.warnings[0]
    fake.faults = [(status, {}, {"message": f"{status} Forbidden"})] * 3
    with pytest.raises(ExternalError, match="could not report to GitLab"):
        GitLabProvider(env, strict=True).publish(report(Status.PASS), "x", config_path="m.yaml")


@pytest.mark.parametrize("refusal", [(403, "403 Forbidden"), (400, "Cannot transition status via :run from :running")],
                         ids=["reporter-token", "refused-transition"])  # fmt: skip
def test_a_refused_status_still_posts_the_note_and_only_warns(gitlab, refusal):
    fake, env = gitlab
    fake.status_refusal = refusal
    provider = GitLabProvider(env)
    provider.started("fraud")
    result = provider.publish(report(Status.PASS), marker_for("fraud"), config_path="m.yaml")
    assert result.places == ("MR note", "job log") and f"({refusal[0]}: {refusal[1]})" in result.warnings[0]
    assert len(ours(fake)) == 1 and not fake.statuses


def test_missing_token_never_calls_gitlab(gitlab):
    fake, env = gitlab
    env = {k: v for k, v in env.items() if k != "MLPIPEX_GITLAB_TOKEN"}
    provider = GitLabProvider(env)
    provider.started("fraud")
    result = provider.publish(report(Status.PASS), "x", config_path="m.yaml")
    assert "MLPIPEX_GITLAB_TOKEN" in result.warnings[0] and not fake.calls


def test_rate_limit_is_waited_out_honouring_retry_after(gitlab):
    fake, env = gitlab
    limited = {"message": "429 Too Many Requests"}
    fake.faults = [(429, {"Retry-After": "7"}, limited), (502, {}, {"message": "502 Bad Gateway"})]
    sleeps = Sleeps()
    result = GitLabProvider(env, sleep=sleeps, backoff=0.5).publish(report(Status.PASS), "x", config_path="m.yaml")
    assert result.places == ("MR note", "commit status") and not result.warnings
    assert sleeps == [7.0, 1.0]  # Retry-After, then exponential backoff (0.5 × 2¹)
    assert len(ours(fake)) == 0 and len(fake.notes[7]) == 1


def test_server_errors_give_up_with_exit_3(gitlab):
    fake, env = gitlab
    fake.faults = [(503, {}, {"message": "503 Service Unavailable"})] * 10
    sleeps = Sleeps()
    with pytest.raises(ExternalError, match="after 4 attempts: 503") as caught:
        GitLabProvider(env, retries=3, sleep=sleeps).publish(report(Status.PASS), "x", config_path="m.yaml")
    assert caught.value.exit_code == 3 and sleeps == [1.0, 2.0, 4.0]


def test_fork_merge_requests_never_write(gitlab):
    fake, env = gitlab
    env = {**env, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "99"}
    provider = GitLabProvider(env)
    assert provider.context().fork
    provider.started("fraud")
    result = provider.publish(report(Status.PASS), "x", config_path="m.yaml")
    assert "fork" in result.warnings[0] and result.places == ("job log",) and not fake.calls
    with pytest.raises(ExternalError, match="fork"):
        GitLabProvider(env, strict=True).publish(report(Status.PASS), "x", config_path="m.yaml")


def test_dotenv_outputs_use_gitlab_variable_names(gitlab, tmp_path):
    _, env = gitlab
    target = tmp_path / "mlpipex.env"
    provider = GitLabProvider({**env, "MLPIPEX_OUTPUTS": str(target)})
    provider.publish(report(Status.PASS), "x", config_path="m.yaml")
    provider.write_outputs({"verdict": "pass", "report-path": ".mlpipex/report/report.md", "exit-code": "0"})
    lines = target.read_text().splitlines()
    assert lines == ["MLPIPEX_VERDICT=pass", "MLPIPEX_REPORT_PATH=.mlpipex/report/report.md", "MLPIPEX_EXIT_CODE=0",
                     "MLPIPEX_MODEL_DIGEST=sha256:" + "ab" * 32]  # fmt: skip
    assert dotenv_key("artifact") == "MLPIPEX_ARTIFACT"


def test_deploys_leave_a_commit_status_per_environment(gitlab):
    fake, env = gitlab
    provider = GitLabProvider(env)
    ok = DeployEvent("deploy", "fraud", "staging", "fraud-svc", True, "rolled out", artifact="r/fraud@sha256:ab", traffic=10)
    assert provider.deployed(ok, "x").places == ("deploy commit status",)
    failed = DeployEvent("rollback", "fraud", "prod", "fraud-svc", False, "canary rolled back", traffic=0)
    provider.deployed(failed, "x")
    assert [(s["name"], s["status"]) for s in fake.statuses] == [
        ("mlpipex/deploy/fraud/staging", "success"), ("mlpipex/deploy/fraud/prod", "failed")]
    assert fake.statuses[0]["description"] == ok.title
    assert provider.artifact_pushed("fraud", "r/fraud@sha256:ab") == Published() and len(fake.calls) == 2


def test_status_states():
    assert status_state(report(Status.PASS)) == "success"
    assert status_state(report(Status.WARN)) == "success"
    assert status_state(report(Status.WARN, fail_on=Status.WARN)) == "failed"
    assert status_state(report(Status.PASS, Status.ERROR)) == "failed"


def test_gate_command_reports_to_gitlab(gitlab, quickstart, monkeypatch):
    fake, env = gitlab
    for key, value in {**env, "MLPIPEX_OUTPUTS": str(quickstart / "mlpipex.env")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--only", "schema,smoke",
                 "--report-dir", str(quickstart / "out")])  # fmt: skip
    assert code == 0
    [note] = fake.notes[7]
    assert note["body"].startswith(marker_for("breast-cancer"))
    assert [s["status"] for s in fake.statuses] == ["running", "success"]
    outputs = (quickstart / "mlpipex.env").read_text()
    assert "MLPIPEX_VERDICT=pass" in outputs and "MLPIPEX_MODEL_DIGEST=sha256:" in outputs


def test_the_fake_checks_requests_and_responses_against_gitlabs_descriptions():
    import httpx

    with FakeGitLab(token=TOKEN) as fake:
        headers = {"PRIVATE-TOKEN": TOKEN}
        httpx.post(f"{fake.api_url}/projects/42/statuses/{SHA}", json={"state": "passed"}, headers=headers)
        httpx.post(f"{fake.api_url}/projects/42/merge_requests/7/notes", json={"note": "x"}, headers=headers)
        httpx.get(f"{fake.api_url}/projects/42/merge_requests/7/notes", params={"sort": "newest"}, headers=headers)
        problems, fake.violations = fake.violations, []
    assert any("'passed' is not one of" in p for p in problems)
    assert any("'body' is a required property" in p for p in problems)
    assert any("'newest' is not one of" in p for p in problems)
