"""The GitLab component's gate job, run for real by gitlab-ci-local in shell mode on the quickstart.

gitlab-ci-local (npm, 4.73.0: the last release for Node 20) expands the component
template with its inputs the way GitLab does, runs the job's script, collects
artifacts and hands the dotenv report to later jobs. The job's GitLab API calls go
to the local fake GitLab (tests/providers/fake_gitlab.py), whose every request and
response is checked against GitLab's own API descriptions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from providers.fake_gitlab import FakeGitLab

from mlpipex.report import marker_for

from .fake_dists import source_tree, wheelhouse

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
    return make_project(tmp_path)


def make_project(tmp_path: Path) -> Path:
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


def run_pipeline(repo: Path, fake: FakeGitLab, *, source_project: str = "42", extra: dict[str, str] | None = None,
                 variables_file: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    # What GitLab itself sets in a merge request pipeline (gitlab-ci-local sets GITLAB_CI=false and a push source).
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_PROJECT_ID": "42",
                 "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_PROJECT_ID": "42",
                 "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": source_project,
                 "CI_API_V4_URL": fake.api_url, "CI_PIPELINE_ID": "991", "MLPIPEX_GITLAB_TOKEN": TOKEN, **(extra or {})}  # fmt: skip
    command = [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--shell-isolation", "--no-color",
               "--ignore-predefined-vars", ",".join(variables)]  # fmt: skip
    for key, value in variables.items():
        command += ["--variable", f"{key}={value}"]
    if variables_file:  # CI/CD variables as GitLab's settings hold them, File-type ones included
        command += ["--variables-file", os.path.relpath(variables_file, repo)]  # it is read relative to the cwd
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


def test_pip_spec_pins_and_paths_install_with_their_extras(project: Path, tmp_path: Path):
    """Issue 18: `mlpipex==0.1.0` became `mlpipex==0.1.0[gitlab]`, which pip rejects; a path must work too."""
    wheels = wheelhouse(tmp_path / "wheels")
    source_tree(project / "checkout")
    forms = {"gate-pin": "mlpipex==0.1.0", "gate-path": "./checkout"}
    for name in forms:  # a venv per job: the jobs run side by side
        subprocess.run([sys.executable, "-m", "venv", str(tmp_path / name)], check=True)
    log = tmp_path / "fake-mlpipex.log"
    pipeline = {
        "stages": ["test"],
        "include": [{"local": "templates/gate.yml", "inputs": {"job-name": name, "pip-spec": spec, "python": str(tmp_path / name / "bin" / "python"),
                                                               "extras": "gitlab,oci"}}
                    for name, spec in forms.items()],
    }  # fmt: skip
    (project / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "pinned and path installs")
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(project, fake, extra={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                                                    "PIP_DISABLE_PIP_VERSION_CHECK": "1", "FAKE_MLPIPEX_LOG": str(log)})  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "PASS  gate-pin" in output and "PASS  gate-path" in output, output
    ran = sorted(log.read_text().splitlines())
    assert ran == [f"{version} gate -c mlpipex.yaml --report-dir .mlpipex/report --fail-on fail" for version in ("0.1.0", "0.3.0")]
    for name, version in (("gate-pin", "0.1.0"), ("gate-path", "0.3.0")):
        listed = subprocess.run([str(tmp_path / name / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                                capture_output=True, text=True, check=True)  # fmt: skip
        assert {f"mlpipex=={version}", "dep-gitlab==1.0", "dep-oci==1.0"} <= set(listed.stdout.split()), name


@pytest.fixture
def deploy_project(project: Path, tmp_path: Path):
    """The quickstart on its default branch with the deploy template, a real registry and a fake cluster."""
    from oci.conftest import start_registry

    from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, FakeKubernetes

    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH})")
    shutil.copy(ROOT / "gitlab" / "templates" / "deploy.yml", project / "templates" / "deploy.yml")
    config = project / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data["gates"] = {"schema": data["gates"]["schema"], "smoke": data["gates"]["smoke"]}  # no timing gates on a busy machine
    # fetch: the storage initializer pulls the gated artifact itself (a modelcar image would need a base with a shell)
    data["deploy"] = {"storage": "fetch",
                      "environments": [{"name": "staging", "context": "fake", "namespace": "ml-staging", "auto_deploy": True}]}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    registry = start_registry(tmp_path / "registry")
    with FakeKubernetes() as kube:
        kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", context="fake")
        pipeline = {"stages": ["deploy"], "include": [{"local": "templates/deploy.yml", "inputs": {
            "pip-spec": "", "python": sys.executable, "environment": "staging",
            "registry-repository": f"{registry.address}/acme/breast-cancer"}}]}  # fmt: skip
        (project / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
        _git(project, "add", "-A")
        _git(project, "commit", "-qm", "deploy on merge")
        try:
            yield project, kube, registry, kubeconfig
        finally:
            registry.stop()


def run_deploy(project: Path, fake: FakeGitLab, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    return run_pipeline(project, fake, extra={"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main",
                                              "CI_COMMIT_SHA": "c" * 40, "KUBECONFIG": str(kubeconfig)})  # fmt: skip


def test_deploy_job_gates_pushes_and_deploys_the_pushed_digest(deploy_project):
    project, kube, registry, kubeconfig = deploy_project
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_deploy(project, fake, kubeconfig)
    log = result.stdout + result.stderr
    assert result.returncode == 0 and "PASS  mlpipex-deploy" in log, log
    artifacts = project / ".gitlab-ci-local" / "artifacts" / "mlpipex-deploy"
    dotenv = (artifacts / ".gitlab-ci-reports" / "dotenv" / "mlpipex.env").read_text().splitlines()
    [artifact] = {line.split("=", 1)[1] for line in dotenv if line.startswith("MLPIPEX_ARTIFACT=")}  # push's = deploy's
    assert artifact.startswith(f"{registry.address}/acme/breast-cancer:1.1.0@sha256:")
    service = kube.objects[("ml-staging", "breast-cancer")]
    uri = service["spec"]["predictor"]["model"]["storageUri"]
    assert uri == f"oci+fetch://{registry.address}/acme/breast-cancer@{artifact.split('@')[1]}", uri
    assert (artifacts / ".mlpipex" / "report" / "junit.xml").exists() and (artifacts / "artifact.txt").read_text().strip() == artifact


def test_a_failed_deploy_keeps_its_reports(deploy_project):
    """Issue 18: the deploy job kept no reports on failure (`when: always`)."""
    project, kube, _, kubeconfig = deploy_project
    kube.down = True  # the cluster answers 503: exit 3 after the gate and the push
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_deploy(project, fake, kubeconfig)
    log = result.stdout + result.stderr
    assert result.returncode == 1 and "FAIL  mlpipex-deploy" in log, log
    artifacts = project / ".gitlab-ci-local" / "artifacts" / "mlpipex-deploy"
    junit = ET.parse(artifacts / ".mlpipex" / "report" / "junit.xml").getroot()
    assert junit.findall(".//testcase") and not junit.findall(".//failure")  # the gate passed; the cluster failed
    assert (artifacts / "artifact.txt").exists()
