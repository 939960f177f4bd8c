"""requirements/ci.lock, the pinned and hash-checked CI install (issue 15, item 4), still fits pyproject.toml.

Offline: every dependency of mlpipex[github,gitlab,oci] that pyproject.toml names is
pinned in the lock at a version its specifier allows, and every pin carries hashes,
so `pip install --require-hashes` accepts the file. `scripts/lock.sh` rewrites it.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "ci.lock"
EXTRAS = ("github", "gitlab", "oci")


def pins() -> dict[str, tuple[str, list[str], str]]:
    """name -> (version, hashes, marker) from the lock's `name==version ; marker \\` entries."""
    text = LOCK.read_text().replace("\\\n", " ")
    found: dict[str, tuple[str, list[str], str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(re.sub(r"\s--hash=\S+", "", line))
        assert str(requirement.specifier).startswith("==") and "," not in str(requirement.specifier), line
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        found[canonicalize_name(requirement.name)] = (str(requirement.specifier)[2:], hashes, str(requirement.marker or ""))
    return found


def test_every_pin_is_exact_and_hashed():
    locked = pins()
    assert len(locked) > 20
    assert all(hashes for _, hashes, _ in locked.values()), [n for n, (_, h, _) in locked.items() if not h]
    assert "mlpipex" not in locked  # mlpipex itself installs with --no-deps from a path or a wheel


def test_the_lock_satisfies_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    locked = pins()
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {LOCK.name}: run scripts/lock.sh"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {name}=={version}, pyproject.toml asks {requirement.specifier}: run scripts/lock.sh")
