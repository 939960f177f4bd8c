"""The GitLab component's gate job, run for real by gitlab-ci-local in shell mode on the quickstart.

gitlab-ci-local (npm, 4.73.0: the last release for Node 20) expands the component
template with its inputs the way GitLab does, runs the job's script, collects
artifacts and hands the dotenv report to later jobs. The job's GitLab API calls go
to the local fake GitLab (tests/providers/fake_gitlab.py), whose every request and
response is checked against GitLab's own API descriptions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from providers.fake_gitlab import FakeGitLab

from mlpipex.report import marker_for

ROOT = Path(__file__).resolve().parents[2]
GITLAB_CI_LOCAL = ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
TOKEN = "glpat-e2e-secret"

pytestmark = [
    pytest.mark.skipif(not GITLAB_CI_LOCAL.exists(), reason="npm gitlab-ci-local is not installed (`make test` installs it into .tools/)"),
    pytest.mark.skipif(shutil.which("rsync") is None, reason="Debian rsync is missing (gitlab-ci-local's --shell-isolation needs it)"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is missing"),
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args], cwd=repo, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A merge request's checkout: the quickstart, the component template, a pipeline that includes it."""
    repo = tmp_path / "models"
    shutil.copytree(ROOT / "examples" / "quickstart", repo, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__", ".pytest_cache"))
    (repo / "templates").mkdir()
    shutil.copy(ROOT / "gitlab" / "templates" / "gate.yml", repo / "templates" / "gate.yml")
    pipeline = {
        "stages": ["test", "deploy"],
        # mlpipex is already installed in this interpreter's venv: no pip install in the job. The timing
        # gates (latency, compare) are left out: a busy CI machine is no place to judge them.
        "include": [{"local": "templates/gate.yml",
                     "inputs": {"pip-spec": "", "python": sys.executable, "args": "--only\nschema,unit,smoke,skew"}}],
        "after-gate": {
            "stage": "deploy",
            "needs": ["mlpipex-gate"],
            "script": ['echo "verdict=$MLPIPEX_VERDICT model=$MLPIPEX_MODEL_DIGEST"', '[ "$MLPIPEX_VERDICT" = pass ]'],
        },
    }
    (repo / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a model change")
    _git(repo, "remote", "add", "origin", "https://gitlab.example.com/acme/models.git")  # gitlab-ci-local needs a remote
    return repo


def run_pipeline(repo: Path, fake: FakeGitLab, *, source_project: str = "42") -> subprocess.CompletedProcess[str]:
    # What GitLab itself sets in a merge request pipeline (gitlab-ci-local sets GITLAB_CI=false and a push source).
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_PROJECT_ID": "42",
                 "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_PROJECT_ID": "42",
                 "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": source_project,
                 "CI_API_V4_URL": fake.api_url, "CI_PIPELINE_ID": "991", "MLPIPEX_GITLAB_TOKEN": TOKEN}  # fmt: skip
    command = [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--shell-isolation", "--no-color",
               "--ignore-predefined-vars", ",".join(variables)]  # fmt: skip
    for key, value in variables.items():
        command += ["--variable", f"{key}={value}"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600)


def test_gate_job_posts_the_note_and_leaves_junit_and_dotenv(project: Path):
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(project, fake)
        log = result.stdout + result.stderr
        assert result.returncode == 0, log
        assert "PASS  mlpipex-gate" in log and "PASS  after-gate" in log
        assert "verdict=pass model=sha256:" in log  # the dotenv reached the later job
        [note] = fake.notes[7]
        assert note["body"].startswith(marker_for("breast-cancer"))
        assert [s["status"] for s in fake.statuses] == ["running", "success"]
        assert {s["name"] for s in fake.statuses} == {"mlpipex/breast-cancer"}

        artifacts = project / ".gitlab-ci-local" / "artifacts" / "mlpipex-gate"
        junit = ET.parse(artifacts / ".mlpipex" / "report" / "junit.xml").getroot()
        assert len(junit.findall(".//testcase")) == 4 and not junit.findall(".//failure")  # the four gates of `args`
        dotenv = (artifacts / ".gitlab-ci-reports" / "dotenv" / "mlpipex.env").read_text()
        assert "MLPIPEX_VERDICT=pass" in dotenv.splitlines() and "MLPIPEX_MODEL_DIGEST=sha256:" in dotenv
        assert TOKEN not in (project / ".gitlab-ci-local" / "output" / "mlpipex-gate.log").read_text()

        # A new push to the merge request: the same note is edited, never a second one.
        (project / "README.md").write_text("changed\n")
        _git(project, "commit", "-qam", "another change")
        result = run_pipeline(project, fake)
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(fake.notes[7]) == 1 and [c[0] for c in fake.calls if "/notes" in c[1]] == ["GET", "POST", "GET", "PUT"]


def test_a_failing_gate_fails_the_job_and_still_reports(project: Path):
    config = project / "mlpipex.yaml"
    config.write_text(config.read_text().replace('accuracy: ">= 0.95"', 'accuracy: ">= 0.999"'))
    _git(project, "commit", "-qam", "a stricter bar than the model meets")
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(project, fake)
        log = result.stdout + result.stderr
        assert result.returncode == 1 and "FAIL  mlpipex-gate" in log, log
        assert "PASS  after-gate" not in log  # it needs the gate job
        [note] = fake.notes[7]
        assert note["body"].startswith(marker_for("breast-cancer")) and "accuracy" in note["body"]
        assert [s["status"] for s in fake.statuses] == ["running", "failed"]
        artifacts = project / ".gitlab-ci-local" / "artifacts" / "mlpipex-gate"
        junit = ET.parse(artifacts / ".mlpipex" / "report" / "junit.xml").getroot()  # artifacts: when: always
        assert junit.findall(".//failure")
        assert "MLPIPEX_VERDICT=fail" in (artifacts / ".gitlab-ci-reports" / "dotenv" / "mlpipex.env").read_text()


def test_a_fork_merge_request_passes_without_touching_gitlab(project: Path):
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(project, fake, source_project="99")
        log = result.stdout + result.stderr
        assert result.returncode == 0 and "PASS  mlpipex-gate" in log, log
        assert "comes from a fork" in log and not fake.calls
