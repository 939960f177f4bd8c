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

from .fake_dists import git_repository, source_tree, wheelhouse

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
    [line] = [line for line in job["script"] if "pip install" in line]
    return line


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
