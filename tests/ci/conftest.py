"""Fixtures shared by the CI front ends' tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry_with_baseline(tmp_path: Path) -> Iterator[tuple[str, str, tuple[str, str]]]:
    """An htpasswd registry holding the quickstart's package: (address, pushed REF@DIGEST, (user, password))."""
    from oci.conftest import PASSWORD, USER, start_registry

    if not shutil.which("htpasswd"):
        pytest.skip("htpasswd (apache2-utils) is not installed; `make test` installs it")
    htpasswd = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(htpasswd), USER, PASSWORD], check=True, capture_output=True)
    registry = start_registry(tmp_path / "registry", htpasswd=htpasswd)
    source = tmp_path / "deployed"  # the model now deployed: the quickstart, packaged and pushed
    shutil.copytree(ROOT / "examples" / "quickstart", source, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__"))
    env = {**os.environ, "MLPIPEX_REGISTRY_USERNAME": USER, "MLPIPEX_REGISTRY_PASSWORD": PASSWORD}
    env.pop("MLPIPEX_PROVIDER", None)
    for command in (["gate", "--quiet", "--only", "schema,smoke"], ["package", "-c", "mlpipex.yaml"],
                    ["push", "-c", "mlpipex.yaml", "--to", f"{registry.address}/acme/breast-cancer", "--output-file", "pushed.txt"]):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "mlpipex", *command], cwd=source, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield registry.address, (source / "pushed.txt").read_text().strip(), (USER, PASSWORD)
    finally:
        registry.stop()
