"""No secret the run knows appears in any output (issue 15, items 1 and 2).

Every secret is set at once: the tokens the front ends pass, one interpolated into
mlpipex.yaml from a variable named like a secret, one whose name says nothing but is
listed in MLPIPEX_SECRET_VARS (a GitLab masked variable), and one the unit tests
print. Each output is then searched for every value: stdout, stderr, report.md,
report.json, junit.xml, GITHUB_STEP_SUMMARY, the check run and the PR comment
(GitHub) and the merge request note (GitLab).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main
from mlpipex.gates.unit import command_environment
from mlpipex.secrets import MASK, redact, redact_data, register, secret_values

from .fake_github import SPEC_PATH, FakeGitHub
from .fake_gitlab import FakeGitLab

SECRETS = {
    "GITHUB_TOKEN": "ghs_" + "G" * 36,
    "MLPIPEX_REGISTRY_PASSWORD": "reg-pass-Zq81xw",
    "MLPIPEX_GITLAB_TOKEN": "glpat-" + "L" * 20,
    "CI_JOB_TOKEN": "job-token-" + "J" * 10,
    "MODEL_API_KEY": "key-0123456789",
    "DEPLOY_HOOK": "masked-by-gitlab-77",  # not named like a secret: listed in MLPIPEX_SECRET_VARS
}
SHA = "a" * 40


def arm(quickstart: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLPIPEX_SECRET_VARS", "DEPLOY_HOOK")
    config_path = quickstart / "mlpipex.yaml"
    config = yaml.safe_load(config_path.read_text())
    # the interpolated secret lands in every gate's error message (the 40 copies)
    config["data"]["label"] = "${MLPIPEX_REGISTRY_PASSWORD}"
    config["gates"]["unit"]["pass_env"] = ["MODEL_API_KEY", "DEPLOY_HOOK"]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    (quickstart / "tests" / "test_leak.py").write_text(
        "import os\n\n\ndef test_leak():\n"
        "    print(os.environ['MODEL_API_KEY'], os.environ['DEPLOY_HOOK'])\n"
        "    assert False, os.environ['MODEL_API_KEY'] + ' ' + os.environ['DEPLOY_HOOK']\n"
    )


def assert_clean(where: str, text: str) -> None:
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert not leaked, f"{where} shows {leaked}"


def outputs(quickstart: Path, captured: pytest.CaptureResult[str]) -> dict[str, str]:
    out = quickstart / "out"
    return {
        "stdout": captured.out, "stderr": captured.err,
        "report.md": (out / "report.md").read_text(), "report.json": (out / "report.json").read_text(),
        "junit.xml": (out / "junit.xml").read_text(), "step summary": (quickstart / "summary.md").read_text(),
    }  # fmt: skip


@pytest.mark.skipif(not SPEC_PATH.exists(), reason="npm @octokit/openapi is not installed (`make test`)")
def test_no_secret_in_any_output_on_github(quickstart, monkeypatch, capsys, tmp_path):
    arm(quickstart, monkeypatch)
    with FakeGitHub() as fake:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {
            "number": 7, "head": {"sha": SHA, "ref": "feature", "repo": {"full_name": "acme/models"}},
            "base": {"repo": {"full_name": "acme/models"}}}}))  # fmt: skip
        for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": "acme/models",
                           "GITHUB_SHA": "b" * 40, "GITHUB_EVENT_PATH": str(event), "GITHUB_RUN_ID": "42",
                           "GITHUB_WORKSPACE": str(quickstart), "GITHUB_OUTPUT": str(quickstart / "out.txt"),
                           "GITHUB_STEP_SUMMARY": str(quickstart / "summary.md")}.items():  # fmt: skip
            monkeypatch.setenv(key, value)
        code = main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--skip", "latency,compare",
                     "--report-dir", str(quickstart / "out")])  # fmt: skip
        seen = outputs(quickstart, capsys.readouterr())
        [run] = fake.check_runs.values()
        seen["check run"] = json.dumps(run)
        seen["PR comment"] = json.dumps(fake.comments[7])
        seen["outputs"] = (quickstart / "out.txt").read_text()
    assert code == 1  # unit failed (fail beats the other gates' bad-input errors)
    report = json.loads(seen["report.json"])
    unit = next(g for g in report["gates"] if g["gate"] == "unit")
    assert unit["status"] == "fail" and MASK in unit["details"]["output_tail"]  # the test's print, masked
    assert MASK in seen["report.md"] and MASK in seen["stdout"] + seen["stderr"]
    for where, text in seen.items():
        assert_clean(where, text)


def test_no_secret_in_the_gitlab_note(quickstart, monkeypatch, capsys):
    arm(quickstart, monkeypatch)
    with FakeGitLab(token=SECRETS["MLPIPEX_GITLAB_TOKEN"], project_id=42) as fake:
        for key, value in {"GITLAB_CI": "true", "CI_API_V4_URL": fake.api_url, "CI_PROJECT_ID": "42",
                           "CI_PROJECT_PATH": "acme/models", "CI_MERGE_REQUEST_IID": "7",
                           "CI_MERGE_REQUEST_PROJECT_ID": "42", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42",
                           "CI_COMMIT_SHA": SHA, "CI_COMMIT_REF_NAME": "feature", "CI_PIPELINE_ID": "991",
                           "MLPIPEX_OUTPUTS": str(quickstart / "mlpipex.env")}.items():  # fmt: skip
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        code = main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--only", "schema,smoke,unit",
                     "--report-dir", str(quickstart / "out")])  # fmt: skip
        captured = capsys.readouterr()
        [note] = fake.notes[7]
        statuses = json.dumps(fake.statuses)
    assert code == 1 and MASK in note["body"]
    for where, text in {"note": note["body"], "statuses": statuses, "stdout": captured.out,
                        "stderr": captured.err}.items():  # fmt: skip
        assert_clean(where, text)


def test_the_unit_command_sees_only_the_allow_list(quickstart, monkeypatch, capsys):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config_path = quickstart / "mlpipex.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["gates"]["unit"].update(pass_env=["MODEL_API_KEY"], env={"FEATURE_FLAG": "on"})
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    (quickstart / "tests" / "test_env.py").write_text(
        "import os\n\n\ndef test_env():\n"
        "    for name in ('GITHUB_TOKEN', 'MLPIPEX_REGISTRY_PASSWORD', 'MLPIPEX_GITLAB_TOKEN', 'CI_JOB_TOKEN'):\n"
        "        assert name not in os.environ, name\n"
        "    assert os.environ['MODEL_API_KEY'] and os.environ['FEATURE_FLAG'] == 'on' and os.environ['PATH']\n"
    )
    code = main(["gate", "-c", str(config_path), "--only", "unit", "--report-dir", str(quickstart / "out")])
    capsys.readouterr()
    report = json.loads((quickstart / "out" / "report.json").read_text())
    assert code == 0, report["gates"][0]


def test_command_environment_is_the_allow_list_plus_the_config():
    environ = {"PATH": "/bin", "HOME": "/root", "GITHUB_TOKEN": "t" * 10, "KEEP": "1"}
    assert command_environment(["KEEP", "ABSENT"], {"X": "y"}, environ) == {
        "PATH": "/bin", "HOME": "/root", "KEEP": "1", "X": "y"}  # fmt: skip


def test_redact_names_secrets_by_variable_name_and_registration(monkeypatch):
    monkeypatch.setenv("SOME_PASSWORD", "hunter2-long")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jane Doe")  # AUTHOR is not AUTH
    monkeypatch.setenv("PRIVATE_KEY", "-----BEGIN KEY-----\n" + "A" * 40 + "\n-----END KEY-----")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to redact usefully
    register("from-a-flag-999")
    text = "p=hunter2-long by Jane Doe, key line " + "A" * 40 + ", flag from-a-flag-999, abc"
    assert redact(text) == f"p={MASK} by Jane Doe, key line {MASK}, flag {MASK}, abc"
    assert "abc" not in secret_values()


def test_redact_data_keeps_types():
    from mlpipex.gates.result import GateResult, Status

    result = redact_data(GateResult("smoke", Status.FAIL, "column s3cr3t-value missing", details={"k": ["s3cr3t-value"]}),
                         ["s3cr3t-value"])  # fmt: skip
    assert result.status is Status.FAIL and result.message == f"column {MASK} missing"
    assert result.details == {"k": [MASK]}


def test_a_value_interpolated_from_a_secret_named_variable_is_registered(write_config):
    """The loader may read another environment than os.environ (the App reads a branch's config)."""
    from mlpipex.config import load_config

    text = ("apiVersion: mlpipex/v1\nmodel: {name: demo, version: 1.0.0, path: m.onnx}\n"
            "data: {holdout: h.csv, label: '${LABEL_TOKEN}', prediction_column: '${PLAIN}'}\n")  # fmt: skip
    load_config(write_config(text), environ={"LABEL_TOKEN": "tok-from-elsewhere-1", "PLAIN": "not-secret-2"},
                check_files=False)  # fmt: skip
    assert redact("tok-from-elsewhere-1 not-secret-2") == f"{MASK} not-secret-2"
