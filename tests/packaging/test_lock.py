"""requirements/{ci,deploy}.lock, the pinned and hash-checked CI installs (issue 15, item 4; lock18), still fit pyproject.toml.

Offline: every dependency of mlpipex[github,gitlab,oci] (ci.lock) and of mlpipex[...,kserve]
(deploy.lock) that pyproject.toml names is pinned in the lock at a version its specifier allows, and every pin carries hashes,
so `pip install --require-hashes` accepts the file. `scripts/lock.sh` rewrites it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# lock -> the extras it covers: ci.lock for the gate-only jobs, deploy.lock (issue lock18) for the
# jobs holding cluster credentials, which used to resolve the kserve extra unpinned from PyPI
LOCKS = {"ci.lock": ("github", "gitlab", "oci"), "deploy.lock": ("github", "gitlab", "oci", "kserve")}


def pins(lock: Path) -> dict[str, list[tuple[str, list[str], str]]]:
    """name -> [(version, hashes, marker)] from the lock's `name==version ; marker \\` entries.

    A name can be pinned more than once under exclusive markers (scipy for Python 3.10 and 3.11+)."""
    text = lock.read_text().replace("\\\n", " ")
    found: dict[str, list[tuple[str, list[str], str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(re.sub(r"\s--hash=\S+", "", line))
        assert str(requirement.specifier).startswith("==") and "," not in str(requirement.specifier), line
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        entry = (str(requirement.specifier)[2:], hashes, str(requirement.marker or ""))
        found.setdefault(canonicalize_name(requirement.name), []).append(entry)
    return found


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_pin_is_exact_and_hashed(name):
    locked = pins(ROOT / "requirements" / name)
    assert len(locked) > 20
    unhashed = [n for n, entries in locked.items() for _, hashes, _ in entries if not hashes]
    assert not unhashed, unhashed
    assert "mlpipex" not in locked  # mlpipex itself installs with --no-deps from a path or a wheel


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_the_lock_satisfies_pyproject(name):
    lock = ROOT / "requirements" / name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for extra in LOCKS[name] for r in project["optional-dependencies"][extra]]
    locked = pins(lock)
    for text in wanted:
        requirement = Requirement(text)
        key = canonicalize_name(requirement.name)
        assert key in locked, f"{key} is not in {name}: run scripts/lock.sh"
        for version, _, _ in locked[key]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name} pins {key}=={version}, pyproject.toml asks {requirement.specifier}: run scripts/lock.sh")


def test_each_lock_says_what_it_covers():
    for name, extras in LOCKS.items():
        header = (ROOT / "requirements" / name).read_text().splitlines()[0]
        assert header.startswith(f"# mlpipex[{','.join(extras)}] dependencies, pinned and hashed."), (name, header)


def test_deploy_lock_pins_what_the_ci_lock_pins_alike():
    """A venv made from ci.lock that later adds kserve installs deploy.lock over it: the shared pins
    must agree, or that install would move a package the gate already ran with."""
    ci, deploy = pins(ROOT / "requirements" / "ci.lock"), pins(ROOT / "requirements" / "deploy.lock")
    assert set(ci) <= set(deploy), sorted(set(ci) - set(deploy))
    moved = {n: (ci[n], deploy[n]) for n in ci if {v for v, _, _ in ci[n]} != {v for v, _, _ in deploy[n]}}
    assert not moved, f"ci.lock and deploy.lock disagree on {sorted(moved)}: run scripts/lock.sh"
