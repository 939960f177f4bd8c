"""The GitLab CI/CD component: each template valid against GitLab's CI schema, every input documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "gitlab" / "templates").glob("*.yml"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_has_documented_inputs_with_defaults(template):
    spec, jobs = list(yaml.safe_load_all(template.read_text()))
    inputs = spec["spec"]["inputs"]
    assert {"job-name", "stage"} <= set(inputs)
    for name, item in inputs.items():
        assert item.get("description"), f"input {name} has no description"
        assert "default" in item, f"input {name} has no default"
    [job] = jobs.values()
    assert all("$[[" not in line for line in job["script"]), "inputs reach the script only as variables"
    used = set(re.findall(r"\$\[\[ inputs\.([a-z-]+) \]\]", template.read_text().split("\n---\n", 1)[1]))
    assert used and used <= set(inputs)


def rendered(default: object) -> str:
    """An input's value as GitLab writes it into the template (booleans lowercase)."""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default) or "x"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_jobs_match_gitlab_ci_schema(template, tmp_path):
    _, jobs = template.read_text().split("\n---\n", 1)
    # Fill the inputs with their defaults the way GitLab interpolates them, then check the job document.
    spec = yaml.safe_load(template.read_text().split("\n---\n", 1)[0])["spec"]["inputs"]
    for name, item in spec.items():
        jobs = jobs.replace(f"$[[ inputs.{name} ]]", rendered(item["default"]))
    document = tmp_path / template.name
    document.write_text(jobs)
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                             str(document)], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def spec_and_job(name: str) -> tuple[dict, dict]:
    spec, jobs = list(yaml.safe_load_all((ROOT / "gitlab" / "templates" / name).read_text()))
    [job] = jobs.values()
    return spec["spec"]["inputs"], job


def test_deploy_job_is_serialised_takes_args_and_keeps_reports_on_failure():
    """Issue 18: no resource_group (two pipelines deployed at once), no args input, no reports on failure."""
    inputs, job = spec_and_job("deploy.yml")
    assert job["resource_group"] == "mlpipex-deploy-$[[ inputs.environment ]]"
    assert "args" in inputs and job["variables"]["MLPIPEX_ARGS"] == "$[[ inputs.args ]]"
    assert any('<<< "$MLPIPEX_ARGS"' in line for line in job["script"])
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "$[[ inputs.report-dir ]]/junit.xml"


def test_inputs_are_typed_where_they_fit():
    for name in ("gate.yml", "deploy.yml"):
        inputs, _ = spec_and_job(name)
        assert inputs["strict-report"]["type"] == "boolean" and inputs["strict-report"]["default"] is False
    gate, _ = spec_and_job("gate.yml")
    assert gate["fail-on"]["options"] == ["fail", "warn"] and gate["fail-on"]["default"] in gate["fail-on"]["options"]


def test_the_component_project_can_be_published():
    """Issue 18: a catalog project needs a README, a LICENSE and a .gitlab-ci.yml that tests and releases it."""
    project = ROOT / "gitlab"
    apache = Path("/usr/share/common-licenses/Apache-2.0")
    for license_file in (ROOT / "LICENSE", project / "LICENSE"):
        text = license_file.read_text()
        assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
        if apache.exists():
            assert text == apache.read_text()
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    readme = (project / "README.md").read_text()
    for template in TEMPLATES:
        inputs = yaml.safe_load(template.read_text().split("\n---\n", 1)[0])["spec"]["inputs"]
        assert f"/{template.stem}@" in readme and all(f"`{name}`" in readme for name in inputs), template.name
    ci = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    included = {item["component"] for item in ci["include"]}
    assert included == {f"$CI_SERVER_FQDN/$CI_PROJECT_PATH/{t.stem}@$CI_COMMIT_SHA" for t in TEMPLATES}
    [release] = [job for job in ci.values() if isinstance(job, dict) and "release" in job]
    assert release["release"]["tag_name"] == "$CI_COMMIT_TAG" and "test-gate" in release["needs"]
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                             str(project / ".gitlab-ci.yml")], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_component_projects_fixture_is_the_quickstart_and_passes(tmp_path):
    fixture = ROOT / "gitlab" / "tests" / "fixture"
    for name in ("models/model.onnx", "data/holdout.csv"):
        assert (fixture / name).read_bytes() == (ROOT / "examples" / "quickstart" / name).read_bytes(), name
    ci = yaml.safe_load((ROOT / "gitlab" / ".gitlab-ci.yml").read_text())
    [gate] = [item["inputs"] for item in ci["include"] if "/gate@" in item["component"]]
    from mlpipex.cli import main

    assert main(["gate", "-c", str(fixture / gate["config"].removeprefix("tests/fixture/")),
                 "--report-dir", str(tmp_path), *gate["args"].split()]) == 0  # fmt: skip


def test_both_templates_take_what_the_deployed_model_baseline_needs():
    """Issue 17: registry credentials and a kubeconfig, each an input with a default, mapped to a variable."""
    mapped = {"registry-username": "MLPIPEX_INPUT_REGISTRY_USERNAME", "registry-password": "MLPIPEX_INPUT_REGISTRY_PASSWORD",
              "kubeconfig": "MLPIPEX_KUBECONFIG_VARIABLE"}  # fmt: skip
    for name in ("gate.yml", "deploy.yml"):
        inputs, job = spec_and_job(name)
        for key, variable in mapped.items():
            assert inputs[key]["default"] == "" and inputs[key]["description"], (name, key)
            assert job["variables"][variable] == f"$[[ inputs.{key} ]]", (name, key)
        assert "oci" in inputs["extras"]["default"].split(","), name  # the baseline pull needs the oci extra
