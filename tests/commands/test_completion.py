"""`mlpipex completion bash|zsh|fish`, loaded by the real shells and asked what they complete."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipex.cli import build_parser
from mlpipex.commands.epilogs import subparsers

COMMANDS = sorted(path[0] for path, _ in subparsers(build_parser()) if len(path) == 1)


def script(shell: str, where: Path) -> Path:
    made = subprocess.run([sys.executable, "-m", "mlpipex", "completion", shell], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    path = where / ("_mlpipex" if shell == "zsh" else f"mlpipex.{shell}")
    path.write_text(made.stdout)
    return path


def needs(shell: str) -> str:
    found = shutil.which(shell)
    if not found:
        pytest.skip(f"{shell} is not installed (`make test` installs it)")
    return found


BASH = r'''
source "$1"
ask() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
        _shtab_mlpipex; printf '%s\n' "${COMPREPLY[@]}"; echo ---; }
ask mlpipex ""; ask mlpipex monitor serve --jo; ask mlpipex completion ""; ask mlpipex gate --fail-on ""
cd "$2"; ask mlpipex init --model mod
'''


def test_bash_completes_commands_options_and_choices(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.onnx").write_bytes(b"")
    out = subprocess.run([needs("bash"), "-c", BASH, "bash", str(script("bash", tmp_path)), str(tmp_path / "models")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    commands, option, shells, choices, files, _ = out.stdout.split("---\n")
    assert files.split() == ["model.onnx"]  # FILE arguments complete paths
    assert sorted(commands.split()) == COMMANDS  # the whole tree, init and completion included
    assert option.split() == ["--journal-sync"]
    assert shells.split() == ["bash", "zsh", "fish"] and choices.split() == ["fail", "warn"]


def test_fish_completes_commands_options_and_choices(tmp_path):
    path = script("fish", tmp_path)
    asks = ["mlpipex ", "mlpipex monitor serve --jo", "mlpipex completion ", "mlpipex init --task "]
    code = f"source {path}; " + "; ".join(f"complete -C '{a}'; echo ---" for a in asks)
    out = subprocess.run([needs("fish"), "--no-config", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    commands, option, shells, tasks, _ = [[line.split("\t")[0] for line in part.splitlines()] for part in out.stdout.split("---\n")]
    assert sorted(commands) == COMMANDS
    assert option == ["--journal-sync"] and shells == ["bash", "zsh", "fish"] and tasks == ["classification", "regression"]


ZSH = r'''
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='>' ; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "$2"$'\t'
sleep 2
out=
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
zpty -d z
'''


@pytest.mark.parametrize(("typed", "completed"), [
    ("mlpipex monitor serve --jo", "mlpipex monitor serve --journal-sync"),
    ("mlpipex compl", "mlpipex completion"),
    ("mlpipex completion fi", "mlpipex completion fish"),
])  # fmt: skip
def test_zsh_completes_through_compinit(tmp_path, typed, completed):
    script("zsh", tmp_path)
    out = subprocess.run([needs("zsh"), "-f", "-c", ZSH, "zsh", str(tmp_path), typed], capture_output=True, timeout=60)
    assert completed in out.stdout.decode(errors="replace"), out.stdout[-2000:]


def test_an_unknown_shell_is_a_usage_error(capsys):
    from mlpipex.cli import main

    with pytest.raises(SystemExit) as done:
        main(["completion", "powershell"])
    assert done.value.code == 2 and "invalid choice: 'powershell'" in capsys.readouterr().err
