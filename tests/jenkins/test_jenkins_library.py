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


def run_step(step: str, params: dict, status: int = 0, outputs: str = "") -> dict:
    env = {**os.environ, "JAVA_HOME": JAVA_HOME if Path(JAVA_HOME).exists() else os.environ.get("JAVA_HOME", "")}
    proc = subprocess.run(["groovy", str(HARNESS), str(LIBRARY), step, json.dumps(params), str(status), outputs],
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
    assert env["MLPIPEX_ARGS"] == "--only=schema,smoke" and env["MLPIPEX_EXTRAS"] == "github,oci"  # oci: the baseline pull
    assert {"step": "junit", "testResults": ".mlpipex/report/junit.xml", "allowEmptyResults": False} in result["calls"]
    assert result["returned"] == {"verdict": "pass", "exitCode": 0}


def test_github_app_credentials_come_from_with_credentials():
    result = run_step("mlpipexGate", {"githubCredentialsId": "github-app"})
    [creds] = [c for c in result["calls"] if c["step"] == "withCredentials"]
    assert creds["credentials"] == [{"credentialsId": "github-app", "usernameVariable": "GITHUB_APP", "passwordVariable": "GITHUB_TOKEN"}]


def test_exit_codes():
    failed = run_step("mlpipexGate", {}, status=1)
    assert "a gate failed" in failed["error"]
    unstable = run_step("mlpipexGate", {"failBuild": False}, status=1)
    assert unstable["returned"] == {"verdict": "fail", "exitCode": 1} and unstable["buildResult"] == "UNSTABLE"
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


def fake_python(tmp_path: Path, argv_file: Path) -> Path:
    """Stands in for python3: `-m venv DIR` makes a venv whose pip does nothing and whose mlpipex records its argv."""
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
        '  mkdir -p "$3/bin"\n'
        "  printf '#!/bin/sh\\nexit 0\\n' > \"$3/bin/python\"\n"
        f"  printf '#!/bin/sh\\nfor a in \"$@\"; do printf \"%%s\\\\n\" \"$a\"; done > {argv_file}\\n' > \"$3/bin/mlpipex\"\n"
        '  chmod 755 "$3/bin/python" "$3/bin/mlpipex"\n'
        "fi\n"
    )
    fake.chmod(0o755)
    return fake


def run_script(sh: dict, workspace: Path, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env_of(sh), "WORKSPACE": str(workspace),
           "WORKSPACE_TMP": f"{workspace}@tmp", "MLPIPEX_PYTHON": str(fake_python(tmp_path, tmp_path / "argv.txt")),
           **extra}  # fmt: skip
    return subprocess.run(["bash", "-c", sh["script"]], cwd=workspace, env=env, capture_output=True, text=True)


def test_a_malicious_value_is_never_executed(tmp_path):
    """Run the step's real script with the recorded environment: the value stays data."""
    evil = '$(touch pwned) `touch pwned2`; touch pwned3 && "'
    result = run_step("mlpipexDeploy", {"config": evil, "args": [evil, "--env=prod"]})
    sh = next(c for c in result["calls"] if c["step"] == "sh")
    assert evil not in sh["script"]
    workspace = tmp_path / "ws"
    workspace.mkdir()
    done = run_script(sh, workspace, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv.txt").read_text().splitlines() == ["deploy", "-c", evil, evil, "--env=prod"]
    assert not list(workspace.glob("pwned*")) and not list(tmp_path.glob("pwned*"))


def test_a_venv_planted_in_the_workspace_is_never_run(tmp_path):
    """Issue 15 item 3: a PR commits .mlpipex-venv/bin/mlpipex; the step runs inside withCredentials."""
    result = run_step("mlpipexGate", {"githubCredentialsId": "github-app"})
    sh = next(c for c in result["calls"] if c["step"] == "sh")
    workspace = tmp_path / "ws"
    planted = workspace / ".mlpipex-venv" / "bin" / "mlpipex"
    planted.parent.mkdir(parents=True)
    planted.write_text(f"#!/bin/sh\necho \"$GITHUB_TOKEN\" > {tmp_path / 'stolen'}\n")
    planted.chmod(0o755)
    done = run_script(sh, workspace, tmp_path, GITHUB_TOKEN="ghs_secret")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "stolen").exists()
    assert (tmp_path / "argv.txt").read_text().splitlines()[0] == "gate"  # the venv made under WORKSPACE_TMP ran
    [venv] = (tmp_path / "ws@tmp").glob("mlpipex-venv-*")
    assert (venv / "bin" / "mlpipex").is_file()


def test_a_venv_inside_the_workspace_or_writable_by_others_is_refused(tmp_path):
    sh = next(c for c in run_step("mlpipexGate", {})["calls"] if c["step"] == "sh")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    inside = run_script(sh, workspace, tmp_path, MLPIPEX_VENV=str(workspace / "venv"))
    assert inside.returncode == 2 and "inside the workspace" in inside.stderr
    shared = tmp_path / "shared-venv"
    (shared / "bin").mkdir(parents=True)
    (shared / "bin" / "mlpipex").write_text("#!/bin/sh\ntouch " + str(tmp_path / "ran") + "\n")
    (shared / "bin" / "mlpipex").chmod(0o777)
    writable = run_script(sh, workspace, tmp_path, MLPIPEX_VENV=str(shared))
    assert writable.returncode == 2 and "others can write to it" in writable.stderr
    assert not (tmp_path / "ran").exists()


def test_a_lock_file_installs_hash_checked(tmp_path):
    """Issue 15 item 4: with `requirements:` the dependencies install with --require-hashes, mlpipex with --no-deps."""
    sh = next(c for c in run_step("mlpipexGate", {"requirements": "ci/requirements.lock"})["calls"] if c["step"] == "sh")
    assert env_of(sh)["MLPIPEX_REQUIREMENTS"] == "ci/requirements.lock"
    workspace = tmp_path / "ws"
    (workspace / "ci").mkdir(parents=True)
    (workspace / "ci" / "requirements.lock").write_text("numpy==2.0.0 --hash=sha256:" + "0" * 64 + "\n")
    pip_log = tmp_path / "pip.txt"
    fake = fake_python(tmp_path, tmp_path / "argv.txt")
    text = fake.read_text().replace("printf '#!/bin/sh\\nexit 0\\n'", f"printf '#!/bin/sh\\necho \"$*\" >> {pip_log}\\n'")
    fake.write_text(text)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env_of(sh), "WORKSPACE": str(workspace),
           "WORKSPACE_TMP": f"{workspace}@tmp", "MLPIPEX_PYTHON": str(fake)}  # fmt: skip
    done = subprocess.run(["bash", "-c", sh["script"]], cwd=workspace, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, second = pip_log.read_text().splitlines()
    assert "--require-hashes --no-deps -r ci/requirements.lock" in first and second.endswith("--no-deps mlpipex")


def run_with_locks(tmp_path: Path, step: str, requirements: str, locks: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run STEP's real script with `requirements:` and the given lock files in the workspace; pip's calls come back."""
    sh = next(c for c in run_step(step, {"requirements": requirements})["calls"] if c["step"] == "sh")
    workspace = tmp_path / "ws"
    for name, text in locks.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    pip_log = tmp_path / "pip.txt"
    fake = fake_python(tmp_path, tmp_path / "argv.txt")
    fake.write_text(fake.read_text().replace("printf '#!/bin/sh\\nexit 0\\n'", f"printf '#!/bin/sh\\necho \"$*\" >> {pip_log}\\n'"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env_of(sh), "WORKSPACE": str(workspace),
           "WORKSPACE_TMP": f"{workspace}@tmp", "MLPIPEX_PYTHON": str(fake)}  # fmt: skip
    done = subprocess.run(["bash", "-c", sh["script"]], cwd=workspace, env=env, capture_output=True, text=True)
    return done, pip_log.read_text().splitlines() if pip_log.exists() else []


PIN = "numpy==2.0.0 --hash=sha256:" + "0" * 64 + "\n"
CI_LOCK = "# mlpipex[github,gitlab,oci] dependencies, pinned and hashed. Regenerate: scripts/lock.sh\n" + PIN
DEPLOY_LOCK = "# mlpipex[github,gitlab,oci,kserve] dependencies, pinned and hashed. Regenerate: scripts/lock.sh\n" + PIN


@pytest.mark.parametrize("step", ["mlpipexDeploy", "mlpipexPromote", "mlpipexRollback"])
def test_a_kserve_step_given_ci_lock_installs_the_deploy_lock_beside_it(tmp_path, step):
    """lock18: the steps holding cluster credentials installed ci.lock (no kserve) with --no-deps."""
    done, calls = run_with_locks(tmp_path, step, "ci/ci.lock", {"ci/ci.lock": CI_LOCK, "ci/deploy.lock": DEPLOY_LOCK})
    assert done.returncode == 0, done.stderr
    assert len(calls) == 2, calls  # the lock, then mlpipex --no-deps: nothing resolved
    assert calls[0].endswith("--require-hashes --no-deps -r ci/deploy.lock") and calls[1].endswith("--no-deps mlpipex")
    assert "are not in ci/ci.lock: installing from ci/deploy.lock" in done.stdout


def test_a_gate_step_keeps_the_lighter_ci_lock(tmp_path):
    done, calls = run_with_locks(tmp_path, "mlpipexGate", "ci/ci.lock", {"ci/ci.lock": CI_LOCK, "ci/deploy.lock": DEPLOY_LOCK})
    assert done.returncode == 0, done.stderr
    assert len(calls) == 2 and calls[0].endswith("--require-hashes --no-deps -r ci/ci.lock"), calls


def test_an_extra_no_lock_covers_is_resolved_on_top_and_the_log_says_so(tmp_path):
    """Without a deploy.lock beside it, kserve's dependencies were simply missing (--no-deps): now resolved, and said."""
    done, calls = run_with_locks(tmp_path, "mlpipexDeploy", "ci/ci.lock", {"ci/ci.lock": CI_LOCK})
    assert done.returncode == 0, done.stderr
    assert calls[0].endswith("-r ci/ci.lock") and calls[-1].endswith("mlpipex mlpipex[github,oci,kserve]"), calls
    assert "extras kserve are not in ci/ci.lock: pip resolves their dependencies from the index, unpinned" in done.stdout


def test_steps_return_the_clis_outputs_as_a_map():
    """Issue 18: steps returned only 'pass'/'fail'; the README's --artifact=${artifact} had no source."""
    gate = run_step("mlpipexGate", {"failBuild": False}, status=1,
                    outputs="verdict=warn\nreport-path=.mlpipex/report/report.md\nexit-code=1\n")  # fmt: skip
    assert gate["returned"] == {"verdict": "warn", "reportPath": ".mlpipex/report/report.md", "exitCode": 1}
    pushed = run_step("mlpipexPush", {"args": ["--to=registry.example.com/models/fraud"], "registryCredentialsId": "registry"},
                      outputs="artifact=registry.example.com/models/fraud:1.1.0@sha256:" + "a" * 64 + "\n")  # fmt: skip
    assert pushed["returned"] == {"artifact": "registry.example.com/models/fraud:1.1.0@sha256:" + "a" * 64, "verdict": "pass", "exitCode": 0}
    deployed = run_step("mlpipexDeploy", {}, outputs="artifact=r@sha256:1\nenvironment=staging\ntraffic=10\n")
    assert deployed["returned"] == {"artifact": "r@sha256:1", "environment": "staging", "traffic": "10", "verdict": "pass", "exitCode": 0}


@pytest.mark.parametrize(("step", "command"), [("mlpipexPackage", "package"), ("mlpipexPush", "push")])
def test_package_and_push_steps(step, command):
    result = run_step(step, {})
    env = env_of(next(c for c in result["calls"] if c["step"] == "sh"))
    assert env["MLPIPEX_COMMAND"] == command and env["MLPIPEX_EXTRAS"] == "github,oci"
    assert not [c for c in result["calls"] if c["step"] == "withCredentials"]


def test_push_reads_registry_credentials_from_with_credentials():
    result = run_step("mlpipexPush", {"registryCredentialsId": "registry", "githubCredentialsId": "github-app"})
    [creds] = [c for c in result["calls"] if c["step"] == "withCredentials"]
    assert creds["credentials"] == [
        {"credentialsId": "github-app", "usernameVariable": "GITHUB_APP", "passwordVariable": "GITHUB_TOKEN"},
        {"credentialsId": "registry", "usernameVariable": "MLPIPEX_REGISTRY_USERNAME", "passwordVariable": "MLPIPEX_REGISTRY_PASSWORD"},
    ]


def test_a_venv_is_reused_only_for_the_same_spec_and_extras(tmp_path):
    """Issue 18: after mlpipexGate (github) a later mlpipexDeploy never installed kserve; a new pipSpec was ignored."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runs = [("mlpipexGate", {}), ("mlpipexGate", {}), ("mlpipexDeploy", {}), ("mlpipexGate", {"pipSpec": "mlpipex==0.2.0"})]
    venvs = []
    for step, params in runs:
        sh = next(c for c in run_step(step, params)["calls"] if c["step"] == "sh")
        done = run_script(sh, workspace, tmp_path)
        assert done.returncode == 0, done.stderr
        venvs.append({p.name for p in (tmp_path / "ws@tmp").glob("mlpipex-venv-*")})
    assert [len(v) for v in venvs] == [1, 1, 2, 3]  # the same gate reuses its venv; deploy and the new pin get their own


# -- what the deployed-model baseline needs (issue 17) ---------------------------------------------

REGISTRY_BINDING = {"credentialsId": "model-registry", "usernameVariable": "MLPIPEX_REGISTRY_USERNAME",
                    "passwordVariable": "MLPIPEX_REGISTRY_PASSWORD"}  # fmt: skip
KUBECONFIG_BINDING = {"kind": "file", "credentialsId": "production-kubeconfig", "variable": "KUBECONFIG"}


@pytest.mark.parametrize("step", ["mlpipexGate", "mlpipexDeploy", "mlpipexPromote", "mlpipexRollback"])
def test_registry_and_kubeconfig_credentials_are_bound_by_with_credentials(step):
    result = run_step(step, {"registryCredentialsId": "model-registry", "kubeconfigCredentialsId": "production-kubeconfig"})
    [creds] = [c for c in result["calls"] if c["step"] == "withCredentials"]
    assert creds["credentials"] == [REGISTRY_BINDING, KUBECONFIG_BINDING]
    env = env_of(next(c for c in result["calls"] if c["step"] == "sh"))
    assert "oci" in env["MLPIPEX_EXTRAS"].split(",")  # the baseline pull and the environment tags talk to the registry
    assert "KUBECONFIG" not in env and "MLPIPEX_REGISTRY_PASSWORD" not in env  # only withCredentials sets them


def test_without_credentials_nothing_is_bound():
    result = run_step("mlpipexGate", {})
    assert not [c for c in result["calls"] if c["step"] == "withCredentials"]


def test_the_kubeconfig_reaches_mlpipex_as_a_path_and_its_contents_never_the_log(tmp_path):
    sh = next(c for c in run_step("mlpipexGate", {"kubeconfigCredentialsId": "production-kubeconfig"})["calls"] if c["step"] == "sh")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    secret_file = tmp_path / "secrets" / "kubeconfig"  # where Jenkins' file binding puts it
    secret_file.parent.mkdir()
    secret_file.write_text("apiVersion: v1\nusers:\n- name: ci\n  user: {token: kube-secret-token-77}\n")
    done = run_script(sh, workspace, tmp_path, KUBECONFIG=str(secret_file))
    assert done.returncode == 0, done.stderr
    assert "kube-secret-token-77" not in done.stdout + done.stderr and "registry tag" not in done.stdout
    without = run_script(sh, workspace, tmp_path)
    assert "a baseline.environment is read from the registry tag REPOSITORY:<environment>" in without.stdout
