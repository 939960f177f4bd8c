"""Stand-in `mlpipex` distributions for testing how the front ends call pip, with pip itself.

A wheelhouse holds `mlpipex` 0.1.0 and 0.2.0, whose extras `gitlab`, `oci`, `kserve`,
`github` each require a tiny `dep-<extra>` wheel; a source tree (version 0.3.0, with an
in-tree build backend that needs nothing from an index) and a git repository of it tagged
v0.3.0 stand for a checkout and a URL. The `mlpipex` console script writes its version and
arguments to $FAKE_MLPIPEX_LOG (`python -m mlpipex` too), so a front end's script runs to the end.
pip runs with --no-index --find-links on the wheelhouse: nothing is downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

EXTRAS = ("github", "gitlab", "kserve", "oci")

_MODULE = '''import os, sys
__version__ = "{version}"
def main():
    with open(os.environ["FAKE_MLPIPEX_LOG"], "a") as log:
        log.write(" ".join([__version__, *sys.argv[1:]]) + "\\n")
    if os.environ.get("MLPIPEX_OUTPUTS"):
        with open(os.environ["MLPIPEX_OUTPUTS"], "a") as outputs:
            outputs.write("MLPIPEX_VERDICT=pass\\n")
'''

_MAIN = "from mlpipex import main\nmain()\n"

# An in-tree PEP 517 backend: builds the same wheel from the source tree with the stdlib only.
_BACKEND = '''import base64, hashlib, zipfile
from pathlib import Path
VERSION = "{version}"
EXTRAS = {extras!r}
def _files():
    meta = ["Metadata-Version: 2.1", "Name: mlpipex", "Version: " + VERSION]
    for extra in EXTRAS:
        meta += ["Provides-Extra: " + extra, 'Requires-Dist: dep-' + extra + '; extra == "' + extra + '"']
    info = "mlpipex-" + VERSION + ".dist-info/"
    return {{"mlpipex/__init__.py": Path("mlpipex/__init__.py").read_text(),
             "mlpipex/__main__.py": Path("mlpipex/__main__.py").read_text(),
             info + "METADATA": "\\n".join(meta) + "\\n",
             info + "WHEEL": "Wheel-Version: 1.0\\nGenerator: fake\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
             info + "entry_points.txt": "[console_scripts]\\nmlpipex = mlpipex:main\\n"}}
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "mlpipex-" + VERSION + "-py3-none-any.whl"
    files = _files()
    record = []
    with zipfile.ZipFile(Path(wheel_directory) / name, "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(path + ",sha256=" + digest + "," + str(len(data)))
            wheel.writestr(path, data)
        info = "mlpipex-" + VERSION + ".dist-info/RECORD"
        wheel.writestr(info, "\\n".join(record + [info + ",,"]) + "\\n")
    return name
'''


def _wheel(folder: Path, name: str, version: str, files: dict[str, str], requires: dict[str, str]) -> Path:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info/"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    for extra, requirement in requires.items():
        meta += [f"Provides-Extra: {extra}", f'Requires-Dist: {requirement}; extra == "{extra}"']
    files = {**files, info + "METADATA": "\n".join(meta) + "\n",
             info + "WHEEL": "Wheel-Version: 1.0\nGenerator: fake\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}  # fmt: skip
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
            wheel.writestr(member, data)
        wheel.writestr(info + "RECORD", "\n".join([*record, info + "RECORD,,"]) + "\n")
    return path


def wheelhouse(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for extra in EXTRAS:
        _wheel(folder, f"dep-{extra}", "1.0", {f"dep_{extra}.py": ""}, {})
    for version in ("0.1.0", "0.2.0"):
        _wheel(folder, "mlpipex", version, {"mlpipex/__init__.py": _MODULE.format(version=version), "mlpipex/__main__.py": _MAIN,
               f"mlpipex-{version}.dist-info/entry_points.txt": "[console_scripts]\nmlpipex = mlpipex:main\n"},
               {extra: f"dep-{extra}" for extra in EXTRAS})  # fmt: skip
    return folder


def source_tree(folder: Path, version: str = "0.3.0") -> Path:
    (folder / "mlpipex").mkdir(parents=True)
    (folder / "mlpipex" / "__init__.py").write_text(_MODULE.format(version=version))
    (folder / "mlpipex" / "__main__.py").write_text(_MAIN)
    (folder / "fake_backend.py").write_text(_BACKEND.format(version=version, extras=EXTRAS))
    (folder / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "fake_backend"\nbackend-path = ["."]\n')
    return folder


def git_repository(source: Path, tag: str = "v0.3.0") -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args], cwd=source,
                       check=True, capture_output=True)  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "mlpipex")
    git("tag", tag)
    return source


def hashed_lock(wheels: Path, extras: tuple[str, ...], wrong: str = "") -> str:
    """A lock of the wheelhouse's dep-<extra> wheels as scripts/lock.sh writes one: the header naming
    the extras it covers, each pin with its wheel's sha256; the pin of `wrong` gets a hash that differs."""
    lines = [f"# mlpipex[{','.join(extras)}] dependencies, pinned and hashed. Regenerate: scripts/lock.sh"]
    for extra in extras:
        wheel = wheels / f"dep_{extra}-1.0-py3-none-any.whl"
        digest = "0" * 64 if extra == wrong else hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"dep-{extra}==1.0 \\\n    --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"
