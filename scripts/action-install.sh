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
# Dependencies come from a lock, pinned and hash-checked (--require-hashes --no-deps), and
# mlpipex itself with --no-deps: requirements/ci.lock when every wanted extra is in it (the
# gate-only jobs, lighter), requirements/deploy.lock when kserve is wanted (the jobs holding
# cluster credentials: deploy, promote, rollback, canary). A venv made from ci.lock that a later
# step extends with kserve gets deploy.lock's pins installed over it, never a resolution. Only an
# extra neither lock covers is resolved by pip on top of the locked set, and the log says so.
set -euo pipefail
action=${MLPIPEX_ACTION_PATH:?MLPIPEX_ACTION_PATH is not set}
python=${MLPIPEX_PYTHON:-python3}
ci_lock="$action/requirements/ci.lock"
deploy_lock="$action/requirements/deploy.lock"

# covered LOCK: the extras a lock holds, from its first line "# mlpipex[a,b,c] dependencies, ..."
covered() { sed -n '1s/^# mlpipex\[\([a-z0-9,-]*\)\] dependencies.*/\1/p' "$1" | tr , '\n' | sort -u; }

# The venv is keyed by what it can be made from: the interpreter, both locks, the action's
# pyproject; which lock it was made from is recorded in it (.mlpipex-lock).
key=$({ "$python" -c 'import sys; print(sys.version)'; cat "$ci_lock" "$deploy_lock" "$action/pyproject.toml"; } | sha256sum | cut -c1-16)
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/mlpipex-venv-$key"
have_file="$venv/.mlpipex-extras"
lock_file="$venv/.mlpipex-lock"

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
have_lock=""
if [ -x "$venv/bin/mlpipex" ] && [ -f "$have_file" ]; then
  have=$(sort -u "$have_file")
  have_lock=$(cat "$lock_file" 2>/dev/null || true)
fi
missing=$(comm -23 <(printf '%s\n' "$wanted") <(printf '%s\n' "$have" | sed '/^$/d'))
all=$(printf '%s\n' "$have" "$wanted" | sed '/^$/d' | sort -u)

# the lighter lock when it covers every extra the venv will hold, else deploy.lock (kserve)
lock_name=ci.lock
if [ "$have_lock" = deploy.lock ] || [ -n "$(comm -23 <(printf '%s\n' "$all") <(covered "$ci_lock"))" ]; then
  lock_name=deploy.lock
fi
lock="$action/requirements/$lock_name"
unlocked=$(comm -23 <(printf '%s\n' "$all") <(covered "$lock"))

pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ -z "$have" ]; then
  echo "mlpipex: installing into $venv from requirements/$lock_name (extras: $(echo $wanted | tr ' ' ,))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "${pip[@]}" --require-hashes --no-deps -r "$lock"
  "${pip[@]}" --no-deps "$action"
elif [ "$have_lock" != "$lock_name" ]; then
  echo "mlpipex: adding extras $(echo $missing | tr ' ' ,) to $venv from requirements/$lock_name"
  "${pip[@]}" --require-hashes --no-deps -r "$lock"
elif [ -n "$missing" ]; then
  echo "mlpipex: adding extras $(echo $missing | tr ' ' ,) to $venv"
else
  echo "mlpipex: reusing $venv (extras: $(echo $have | tr ' ' ,))"
fi
if [ -n "$missing" ] && [ -n "$unlocked" ]; then
  # an extra neither lock covers (app, monitor, ...): pip resolves its dependencies, unpinned
  echo "mlpipex: extras $(echo $unlocked | tr ' ' ,) are not in requirements/$lock_name: pip resolves their dependencies from the index, unpinned and unhashed"
  "${pip[@]}" "$action[$(echo $all | tr ' ' ,)]"
fi
printf '%s\n' "$all" > "$have_file"
echo "$lock_name" > "$lock_file"
echo "$venv/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
