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


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_jobs_match_gitlab_ci_schema(template, tmp_path):
    _, jobs = template.read_text().split("\n---\n", 1)
    # Fill the inputs with their defaults the way GitLab interpolates them, then check the job document.
    spec = yaml.safe_load(template.read_text().split("\n---\n", 1)[0])["spec"]["inputs"]
    for name, item in spec.items():
        jobs = jobs.replace(f"$[[ inputs.{name} ]]", str(item["default"]) or "x")
    document = tmp_path / template.name
    document.write_text(jobs)
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                             str(document)], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
