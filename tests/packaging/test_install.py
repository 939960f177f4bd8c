"""A plain (non-editable) install gives `import mlpipex`, the `mlpipex` command and `python -m mlpipex`.

The wheel is installed with --no-deps into a private directory that goes first on
PYTHONPATH, so the test proves the wheel's own contents (templates, schema files,
every subpackage) without downloading dependencies again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("wheel")
    wheels, target = tmp / "wheels", tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = wheels.glob("mlpipex-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    return target, env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_comes_from_the_wheel(installed, tmp_path):
    target, env = installed
    out = run([sys.executable, "-c", "import mlpipex, mlpipex.app; print(mlpipex.__file__); print(mlpipex.__version__)"], env, tmp_path)
    assert out.returncode == 0, out.stderr
    path, version = out.stdout.split()
    assert Path(path).is_relative_to(target), path
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert version == pyproject["project"]["version"]


def test_console_script_and_module(installed, tmp_path):
    target, env = installed
    script = run([str(target / "bin" / "mlpipex"), "--version"], env, tmp_path)
    module = run([sys.executable, "-m", "mlpipex", "--version"], env, tmp_path)
    assert script.returncode == module.returncode == 0, script.stderr + module.stderr
    assert script.stdout.strip() == module.stdout.strip()
    assert script.stdout.startswith("mlpipex ")


def test_every_subpackage_is_in_the_wheel(installed):
    target, _ = installed
    for init in (ROOT / "core").rglob("__init__.py"):
        relative = init.parent.relative_to(ROOT / "core")
        assert (target / "mlpipex" / relative / "__init__.py").is_file(), (
            f"core/{relative} is missing from the wheel: add it to [tool.setuptools] packages"
        )


def test_wheel_runs_the_gates_on_the_quickstart(installed, quickstart, tmp_path):
    target, env = installed
    out = run(
        [str(target / "bin" / "mlpipex"), "gate", "-c", str(quickstart / "mlpipex.yaml"),
         "--only", "schema,smoke,skew", "--report-dir", str(tmp_path / "report")],
        env, tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("report.json", "report.md", "junit.xml"):
        assert (tmp_path / "report" / name).stat().st_size > 0
