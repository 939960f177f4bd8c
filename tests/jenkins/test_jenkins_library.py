"""The Jenkins shared library, run by Debian's groovy against recorded stub steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "plugins" / "jenkins"
HARNESS = Path(__file__).with_name("harness.groovy")
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

pytestmark = pytest.mark.skipif(not shutil.which("groovy"), reason="Debian's groovy is not installed (`make test` installs it)")


def run_step(step: str, params: dict, status: int = 0) -> dict:
    env = {**os.environ, "JAVA_HOME": JAVA_HOME if Path(JAVA_HOME).exists() else os.environ.get("JAVA_HOME", "")}
    proc = subprocess.run(["groovy", str(HARNESS), str(LIBRARY), step, json.dumps(params), str(status)],
                          capture_output=True, text=True, timeout=180, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def env_of(call: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in call["env"])


def test_gate_maps_parameters_to_environment_and_publishes_junit():
    result = run_step("mlpipexGate", {"config": "models/mlpipex.yaml", "failOn": "warn", "args": ["--only=schema,smoke"]})
    sh = next(c for c in result["calls"] if c["step"] == "sh")
    assert sh["script"] == (LIBRARY / "resources" / "io" / "mlpipex" / "run.sh").read_text()  # constant script text
    env = env_of(sh)
    assert env["MLPIPEX_COMMAND"] == "gate" and env["MLPIPEX_CONFIG"] == "models/mlpipex.yaml"
    assert env["MLPIPEX_FAIL_ON"] == "warn" and env["MLPIPEX_REPORT_DIR"] == ".mlpipex/report"
    assert env["MLPIPEX_ARGS"] == "--only=schema,smoke" and env["MLPIPEX_EXTRAS"] == "github"
    assert {"step": "junit", "testResults": ".mlpipex/report/junit.xml", "allowEmptyResults": False} in result["calls"]
    assert result["returned"] == "pass"


def test_github_app_credentials_come_from_with_credentials():
    result = run_step("mlpipexGate", {"githubCredentialsId": "github-app"})
    [creds] = [c for c in result["calls"] if c["step"] == "withCredentials"]
    assert creds["credentials"] == [{"credentialsId": "github-app", "usernameVariable": "GITHUB_APP", "passwordVariable": "GITHUB_TOKEN"}]


def test_exit_codes():
    failed = run_step("mlpipexGate", {}, status=1)
    assert "a gate failed" in failed["error"]
    unstable = run_step("mlpipexGate", {"failBuild": False}, status=1)
    assert unstable["returned"] == "fail" and unstable["buildResult"] == "UNSTABLE"
    bad = run_step("mlpipexDeploy", {}, status=2)
    assert "bad input or configuration" in bad["error"]
    outside = run_step("mlpipexRollback", {}, status=3)
    assert "an outside system failed" in outside["error"]


def test_unknown_parameters_are_rejected():
    result = run_step("mlpipexPromote", {"confg": "x.yaml"})
    assert "unknown parameter(s) [confg]" in result["error"] and "config" in result["error"]


@pytest.mark.parametrize("step", ["mlpipexDeploy", "mlpipexPromote", "mlpipexRollback"])
def test_deploy_steps_call_their_command(step):
    result = run_step(step, {"args": ["--env=production"]})
    env = env_of(next(c for c in result["calls"] if c["step"] == "sh"))
    assert env["MLPIPEX_COMMAND"] == step.removeprefix("mlpipex").lower()
    assert env["MLPIPEX_ARGS"] == "--env=production" and "kserve" in env["MLPIPEX_EXTRAS"]


def test_a_malicious_value_is_never_executed(tmp_path):
    """Run the step's real script with the recorded environment: the value stays data."""
    evil = '$(touch pwned) `touch pwned2`; touch pwned3 && "'
    result = run_step("mlpipexDeploy", {"config": evil, "args": [evil, "--env=prod"]})
    sh = next(c for c in result["calls"] if c["step"] == "sh")
    assert evil not in sh["script"]
    venv = tmp_path / ".mlpipex-venv" / "bin"
    venv.mkdir(parents=True)
    recorder = venv / "mlpipex"
    recorder.write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {tmp_path / 'argv.txt'}\n")
    recorder.chmod(0o755)
    subprocess.run(["bash", "-c", sh["script"]], cwd=tmp_path, check=True,
                   env={"PATH": "/usr/bin:/bin", **env_of(sh)})  # fmt: skip
    assert (tmp_path / "argv.txt").read_text().splitlines() == ["deploy", "-c", evil, evil, "--env=prod"]
    assert not list(tmp_path.glob("pwned*"))
