"""`pip-spec`/`pipSpec` in every form a user writes, installed by the front ends' own lines, with pip.

The GitLab templates and the Jenkins library's run.sh pass the spec to pip beside
"mlpipex[EXTRAS]"; pip's resolver puts the extras on what the spec names. The old
"${SPEC}[${EXTRAS}]" made `mlpipex==0.1.0[gitlab]`, which pip rejects (issue 18).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .fake_dists import git_repository, hashed_lock, source_tree, wheelhouse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ("gate.yml", "deploy.yml")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pip-spec")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    work = base / "work"  # the job's working directory: the spec's relative paths start here
    source_tree(work / "checkout")
    repo = git_repository(source_tree(base / "repo"))
    return {"python": venv / "bin" / "python", "wheels": wheelhouse(base / "wheels"), "work": work, "repo": repo}


def install_line(template: str) -> str:
    _, jobs = list(yaml.safe_load_all((ROOT / "gitlab" / "templates" / template).read_text()))
    [job] = jobs.values()
    # with and without a `requirements` lock: one runs, the other's condition is false
    return "\n".join(line for line in job["script"] if "pip install" in line)


def pip_env(world: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(world["work"].parent), "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(world["wheels"]), "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}  # fmt: skip


def resolved(world: dict[str, Path], line: str, spec: str, extras: str, tmp_path: Path) -> dict[str, str]:
    """What pip would install for the template's own line (a dry run with a JSON report)."""
    report = tmp_path / "report.json"
    env = pip_env(world, MLPIPEX_PIP_SPEC=spec, MLPIPEX_EXTRAS=extras, MLPIPEX_PYTHON=str(world["python"]),
                  PIP_DRY_RUN="1", PIP_REPORT=str(report))  # fmt: skip
    done = subprocess.run(["bash", "-c", line], cwd=world["work"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{spec!r}: {done.stderr[-2000:]}"
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in json.loads(report.read_text())["install"]}


FORMS = [  # (spec as the user writes it, version pip must pick, extras the spec adds itself)
    ("mlpipex", "0.2.0", ()),
    ("mlpipex==0.1.0", "0.1.0", ()),
    ("mlpipex>=0.1,<0.2", "0.1.0", ()),
    ("mlpipex ~= 0.1.0", "0.1.0", ()),
    ("mlpipex[oci]==0.1.0", "0.1.0", ("oci",)),
    ("{wheels}/mlpipex-0.1.0-py3-none-any.whl", "0.1.0", ()),
    ("mlpipex @ file://{wheels}/mlpipex-0.1.0-py3-none-any.whl", "0.1.0", ()),
    ("./checkout", "0.3.0", ()),
    ("checkout/", "0.3.0", ()),
    ("{work}/checkout", "0.3.0", ()),
    ("file://{work}/checkout", "0.3.0", ()),
    ("git+file://{repo}@v0.3.0", "0.3.0", ()),
]


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize(("form", "version", "own"), FORMS, ids=[f[0] for f in FORMS])
def test_gitlab_templates_install_every_form_with_the_extras(world, template, form, version, own, tmp_path):
    spec = form.format(**{k: str(v) for k, v in world.items()})
    got = resolved(world, install_line(template), spec, "gitlab,kserve", tmp_path)
    assert got == {"mlpipex": version, "dep-gitlab": "1.0", "dep-kserve": "1.0", **{f"dep-{e}": "1.0" for e in own}}


def test_empty_extras_install_the_spec_alone(world, tmp_path):
    assert resolved(world, install_line("gate.yml"), "mlpipex==0.1.0", "", tmp_path) == {"mlpipex": "0.1.0"}


def test_the_templates_share_one_install_line():
    assert install_line("gate.yml") == install_line("deploy.yml")


def install_with_lock(world: dict[str, Path], template: str, lock: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    (work / "deploy.lock").write_text(lock)
    env = pip_env(world, MLPIPEX_PIP_SPEC="mlpipex==0.1.0", MLPIPEX_EXTRAS="gitlab", MLPIPEX_PYTHON=str(venv / "bin" / "python"),
                  MLPIPEX_REQUIREMENTS="deploy.lock")  # fmt: skip
    for line in install_line(template).splitlines():  # as the runner does: the job stops at the first failing line
        done = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode:
            break
    return done, venv


@pytest.mark.parametrize("template", TEMPLATES)
def test_gitlab_templates_install_the_requirements_lock_hash_checked(world, template, tmp_path):
    """lock18: the templates had no lock input; a deploy job resolved kserve's dependencies from the index.

    The lock's pins are what is installed (dep-kserve, though extras names gitlab only) and
    mlpipex comes without its dependencies; a pin whose hash differs fails the install."""
    done, venv = install_with_lock(world, template, hashed_lock(world["wheels"], ("gitlab", "oci", "kserve")), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    names = {p["name"]: p["version"] for p in json.loads(listed) if p["name"] not in ("pip", "setuptools")}
    assert names == {"mlpipex": "0.1.0", "dep-gitlab": "1.0", "dep-oci": "1.0", "dep-kserve": "1.0"}


@pytest.mark.parametrize("template", TEMPLATES)
def test_gitlab_templates_refuse_a_lock_whose_hash_differs(world, template, tmp_path):
    done, venv = install_with_lock(world, template, hashed_lock(world["wheels"], ("gitlab", "kserve"), wrong="kserve"), tmp_path)
    assert done.returncode != 0 and "hash" in done.stderr.lower(), done.stderr[-2000:]
    assert not (venv / "bin" / "mlpipex").exists()


def run_jenkins_step_script(world: dict[str, Path], spec: str, extras: str, tmp_path: Path) -> tuple[str, Path]:
    """The Jenkins library's run.sh, for real: a venv under WORKSPACE_TMP, pip, then `mlpipex`."""
    workspace = tmp_path / "ws"
    shutil.copytree(world["work"], workspace)
    log = tmp_path / "mlpipex.log"
    env = pip_env(world, MLPIPEX_PIP_SPEC=spec, MLPIPEX_EXTRAS=extras, MLPIPEX_PYTHON=sys.executable,
                  MLPIPEX_COMMAND="deploy", WORKSPACE=str(workspace), WORKSPACE_TMP=f"{workspace}@tmp",
                  FAKE_MLPIPEX_LOG=str(log))  # fmt: skip
    script = ROOT / "plugins" / "jenkins" / "resources" / "io" / "mlpipex" / "run.sh"
    done = subprocess.run(["bash", str(script)], cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [venv] = Path(f"{workspace}@tmp").glob("mlpipex-venv-*")
    return log.read_text(), venv


@pytest.mark.parametrize(("spec", "version"), [("mlpipex==0.1.0", "0.1.0"), ("./checkout", "0.3.0")])
def test_jenkins_installs_pins_and_paths_with_the_extras(world, spec, version, tmp_path):
    ran, venv = run_jenkins_step_script(world, spec, "github,kserve", tmp_path)
    assert ran == f"{version} deploy -c mlpipex.yaml\n"
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
    names = {p["name"]: p["version"] for p in json.loads(installed)}
    assert names["mlpipex"] == version and "dep-github" in names and "dep-kserve" in names and "dep-gitlab" not in names
