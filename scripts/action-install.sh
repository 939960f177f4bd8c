#!/usr/bin/env bash
# The GitHub Action's install step: mlpipex into one venv per job, reused by every later
# `uses:` of the action in that job; a later step that needs more extras adds only those.
#
# Inputs arrive as environment variables only (never as text interpolated into a script):
#   MLPIPEX_ACTION_PATH  the action's checkout (github.action_path): what is installed
#   MLPIPEX_EXTRAS       extras the step asks for, comma-separated; `github` is always added,
#                        since every command reports to GitHub (a missing extra used to turn
#                        a done deploy into exit 2)
#   MLPIPEX_PYTHON       the interpreter setup-python installed
#   RUNNER_TEMP          the venv lives here, outside the workspace a pull request controls
#   GITHUB_PATH          the venv's bin/ is appended, so the run step finds `mlpipex`
# Dependencies come from requirements/ci.lock, pinned and hash-checked (--require-hashes),
# and mlpipex itself with --no-deps; an extra the lock does not cover (kserve) is then
# resolved by pip on top of the locked set.
set -euo pipefail
action=${MLPIPEX_ACTION_PATH:?MLPIPEX_ACTION_PATH is not set}
python=${MLPIPEX_PYTHON:-python3}
lock="$action/requirements/ci.lock"

# The venv is keyed by what it was made from: the interpreter, the action's own files.
key=$({ "$python" -c 'import sys; print(sys.version)'; cat "$lock" "$action/pyproject.toml"; } | sha256sum | cut -c1-16)
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/mlpipex-venv-$key"
have_file="$venv/.mlpipex-extras"

IFS=', ' read -r -a asked <<< "${MLPIPEX_EXTRAS:-}"
for extra in "${asked[@]}"; do
  if ! [[ $extra =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
    echo "error: action input extras: \`$extra\` is not an extra's name" >&2
    echo "  fix: list extras by name, comma-separated (e.g. github,oci,kserve)" >&2
    exit 2
  fi
done
wanted=$(printf '%s\n' github "${asked[@]}" | sed '/^$/d' | sort -u)
have=""
if [ -x "$venv/bin/mlpipex" ] && [ -f "$have_file" ]; then
  have=$(sort -u "$have_file")
fi
missing=$(comm -23 <(printf '%s\n' "$wanted") <(printf '%s\n' "$have" | sed '/^$/d'))

pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ -z "$have" ]; then
  echo "mlpipex: installing into $venv (extras: $(echo $wanted | tr ' ' ,))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "${pip[@]}" --require-hashes --no-deps -r "$lock"
  "${pip[@]}" --no-deps "$action"
fi
if [ -n "$missing" ]; then
  all=$(printf '%s\n' "$have" "$wanted" | sed '/^$/d' | sort -u | paste -sd, -)
  [ -z "$have" ] || echo "mlpipex: adding extras $(echo $missing | tr ' ' ,) to $venv"
  "${pip[@]}" "$action[$all]"
  printf '%s\n' "$have" "$wanted" | sed '/^$/d' | sort -u > "$have_file"
else
  echo "mlpipex: reusing $venv (extras: $(echo $have | tr ' ' ,))"
fi
echo "$venv/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
