"""The GitLab component passes what the deployed-model baseline needs (issue 17), run by gitlab-ci-local.

The gate job pulls its baseline from a real registry (Debian's docker-registry with
htpasswd auth, as tests/oci uses it): with the credentials the inputs name, or the job's
own CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for $CI_REGISTRY, it compares; without them it
is exit 3 naming the registry. With a File-type kubeconfig variable it reads the stable
model of the live InferenceService (tests/kserve/cluster_fake) and the kubeconfig's
contents never reach the job log.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from providers.fake_gitlab import FakeGitLab

from .baseline_setup import compare_with, in_production, serve_in_production
from .test_gitlab_ci_local import TOKEN, _git, make_project, run_pipeline
from .test_gitlab_ci_local import pytestmark as gitlab_ci_local_marks

pytestmark = gitlab_ci_local_marks
KUBE_TOKEN = "kube-secret-token-5f0c1d2e3a4b"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The merge request's checkout with the gate template (test_gitlab_ci_local's)."""
    return make_project(tmp_path)


def set_pipeline(repo: Path, jobs: dict[str, dict[str, str]]) -> None:
    pipeline = {"stages": ["test"], "include": [
        {"local": "templates/gate.yml", "inputs": {"job-name": name, "pip-spec": "", "python": sys.executable, "args": "--only\ncompare", **inputs}}
        for name, inputs in jobs.items()]}  # fmt: skip
    (repo / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "compare with the deployed model")


def job_log(repo: Path, job: str) -> str:
    return (repo / ".gitlab-ci-local" / "output" / f"{job}.log").read_text()


def report_of(repo: Path, job: str) -> dict:
    path = repo / ".gitlab-ci-local" / "artifacts" / job / ".mlpipex" / "report" / "report.json"
    return json.loads(path.read_text())


def dotenv_of(repo: Path, job: str) -> list[str]:
    return (repo / ".gitlab-ci-local" / "artifacts" / job / ".gitlab-ci-reports" / "dotenv" / "mlpipex.env").read_text().splitlines()


def test_registry_inputs_reach_the_baseline_pull_and_without_them_it_is_exit_3(repo: Path, registry_with_baseline):
    address, pushed, (user, password) = registry_with_baseline
    compare_with(repo, {"artifact": f"{address}/acme/breast-cancer:1.1.0"})
    set_pipeline(repo, {"gate-with-credentials": {"registry-username": "$ROBOT_USER", "registry-password": "$ROBOT_PASSWORD"},
                           "gate-without": {}})  # fmt: skip
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(repo, fake, extra={"ROBOT_USER": user, "ROBOT_PASSWORD": password})
    log = result.stdout + result.stderr
    assert "PASS  gate-with-credentials" in log and "FAIL  gate-without" in log, log
    report = report_of(repo, "gate-with-credentials")
    assert [(g["gate"], g["status"]) for g in report["gates"]] == [("compare", "pass")], report["gates"]
    assert report["baseline"]["artifact"] == f"{address}/acme/breast-cancer@{pushed.split('@')[1]}"  # pulled by that digest
    refused = job_log(repo, "gate-without")
    assert f"{address} refused lookup of {address}/acme/breast-cancer:1.1.0: unauthorised" in refused
    assert "fix: set MLPIPEX_REGISTRY_USERNAME/MLPIPEX_REGISTRY_PASSWORD" in refused and "exit 3" in refused
    assert "MLPIPEX_EXIT_CODE=3" in dotenv_of(repo, "gate-without")
    for job in ("gate-with-credentials", "gate-without"):
        assert password not in job_log(repo, job)


def test_the_job_token_is_used_for_ci_registry_and_offered_to_no_other(repo: Path, registry_with_baseline):
    address, _, (user, password) = registry_with_baseline
    compare_with(repo, {"artifact": f"{address}/acme/breast-cancer:1.1.0"})
    set_pipeline(repo, {"mlpipex-gate": {}})
    job_token = {"CI_REGISTRY_USER": user, "CI_REGISTRY_PASSWORD": password}
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(repo, fake, extra={"CI_REGISTRY": address, **job_token})
        assert result.returncode == 0 and "PASS  mlpipex-gate" in result.stdout, result.stdout + result.stderr
        assert [(g["gate"], g["status"]) for g in report_of(repo, "mlpipex-gate")["gates"]] == [("compare", "pass")]
        # the project's registry is another one: the job token is not sent to this one
        result = run_pipeline(repo, fake, extra={"CI_REGISTRY": "registry.gitlab.example.com", **job_token})
    assert "FAIL  mlpipex-gate" in result.stdout and f"{address} refused" in job_log(repo, "mlpipex-gate")
    assert password not in job_log(repo, "mlpipex-gate")


def test_a_file_kubeconfig_reads_the_live_service_and_never_reaches_the_log(repo: Path, registry_with_baseline, tmp_path: Path):
    from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, FakeKubernetes

    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH})")
    address, pushed, (user, password) = registry_with_baseline
    in_production(repo, address)
    set_pipeline(repo, {"gate-live": {"kubeconfig": "PRODUCTION_KUBECONFIG", "extras": "gitlab,oci,kserve"}, "gate-no-cluster": {}})
    digest = pushed.split("@")[1]
    # admit=False: only read here; the service is what a deploy of `pushed` at 100% leaves (mlpipex's annotations)
    with FakeKubernetes(admit=False) as kube:
        text = serve_in_production(kube, pushed, tmp_path / "kubeconfig", token=KUBE_TOKEN)
        # a File-type variable, as GitLab has it: the job sees a path, the file holds the contents
        variables = tmp_path / "file-variables.yml"
        variables.write_text(yaml.safe_dump({"PRODUCTION_KUBECONFIG": {"type": "file", "values": {"*": text}}}))
        with FakeGitLab(token=TOKEN, project_id=42) as fake:
            result = run_pipeline(repo, fake, extra={"MLPIPEX_REGISTRY_USERNAME": user, "MLPIPEX_REGISTRY_PASSWORD": password},
                                  variables_file=variables)  # fmt: skip
        log = result.stdout + result.stderr
        assert "PASS  gate-live" in log, log
        assert ("GET", "/apis/serving.kserve.io/v1beta1/namespaces/ml-prod/inferenceservices/breast-cancer") in kube.requests
    live = json.dumps(report_of(repo, "gate-live"))
    assert "live InferenceService ml-prod/breast-cancer" in live and digest in live
    for secret in (KUBE_TOKEN, kube.url, password):
        assert secret not in log and secret not in job_log(repo, "gate-live")
    # no kubeconfig: the job says so, and the gate reads the environment's registry tag (none yet: a failure, require_baseline)
    no_cluster = job_log(repo, "gate-no-cluster")
    assert "a baseline.environment is read from the registry tag" in no_cluster
    assert f"{address}/acme/breast-cancer:production" in json.dumps(report_of(repo, "gate-no-cluster"))


def test_a_kubeconfig_input_that_names_no_file_variable_is_exit_2_and_prints_nothing_of_it(repo: Path):
    set_pipeline(repo, {"mlpipex-gate": {"kubeconfig": "NOT_A_FILE_VARIABLE"}})
    with FakeGitLab(token=TOKEN, project_id=42) as fake:
        result = run_pipeline(repo, fake, extra={"NOT_A_FILE_VARIABLE": "apiVersion: v1 token: leaked-if-printed"})
    log = job_log(repo, "mlpipex-gate")
    assert "FAIL  mlpipex-gate" in result.stdout and "input kubeconfig does not name a File-type CI/CD variable" in log
    assert "leaked-if-printed" not in log and "fix:" in log
