#!/usr/bin/env bash
# Run by every mlpipex step. Constant text: user values arrive only as environment
# variables (MLPIPEX_*), so nothing a user types is ever parsed as shell.
#
# The venv lives outside the workspace (WORKSPACE_TMP, i.e. ${WORKSPACE}@tmp, which
# Jenkins keeps beside the checkout), keyed by what was installed into it: a pull
# request controls the workspace, so a binary there (a committed .mlpipex-venv/bin/
# mlpipex) would run with the step's credentials. A venv path inside the workspace,
# or one another user could have written, is refused.
set -euo pipefail
spec=${MLPIPEX_PIP_SPEC:-mlpipex}
extras=${MLPIPEX_EXTRAS:-github}
python=${MLPIPEX_PYTHON:-python3}
lock=${MLPIPEX_REQUIREMENTS:-}
workspace=$(pwd -P)
root=${WORKSPACE_TMP:-}
if [ -z "$root" ]; then
  if [ -n "${WORKSPACE:-}" ]; then root="$WORKSPACE@tmp"; else root="${XDG_CACHE_HOME:-$HOME/.cache}/mlpipex"; fi
fi
# A lock that names what it covers (mlpipex's own: "# mlpipex[a,b] dependencies" on its first
# line) and lacks a wanted extra gives way to the deploy.lock beside it when that covers them:
# deploy/promote/rollback hold cluster credentials, and ci.lock has no kserve. An extra no lock
# covers is resolved by pip on top (unpinned, and the log says so); a lock without that first
# line (the project's own) is taken as covering everything.
covered() { sed -n '1s/^# mlpipex\[\([a-z0-9,-]*\)\] dependencies.*/\1/p' "$1" | tr , '\n' | sed '/^$/d' | sort -u; }
uncovered() {  # uncovered LOCK: the wanted extras LOCK's first line does not name
  local names; names=$(covered "$1")
  [ -n "$names" ] || return 0
  comm -23 <(printf '%s\n' "$extras" | tr ', ' '\n\n' | sed '/^$/d' | sort -u) <(printf '%s\n' "$names")
}
unlocked=""
if [ -n "$lock" ]; then
  unlocked=$(uncovered "$lock")
  beside="$(dirname "$lock")/deploy.lock"
  if [ -n "$unlocked" ] && [ "$lock" != "$beside" ] && [ -f "$beside" ] && [ -z "$(uncovered "$beside")" ]; then
    echo "mlpipex: extras $(echo $unlocked | tr ' ' ,) are not in $lock: installing from $beside"
    lock=$beside
    unlocked=""
  fi
fi
lock_hash=none
if [ -n "$lock" ]; then lock_hash=$(printf '%s\n' "$lock" | cat - "$lock" | sha256sum | cut -c1-64); fi
key=$(printf '%s\n' "$spec" "$extras" "$python" "$lock_hash" | sha256sum | cut -c1-16)
venv=${MLPIPEX_VENV:-$root/mlpipex-venv-$key}
case "$(realpath -m "$venv")/" in
  "$workspace"/*)
    echo "mlpipex: refusing the venv $venv: it is inside the workspace, which the pull request controls" >&2
    echo "  fix: leave MLPIPEX_VENV unset (the venv goes to WORKSPACE_TMP) or point it outside $workspace" >&2
    exit 2 ;;
esac
if [ -e "$venv" ]; then
  # only a venv this user made, writable by nobody else, is reused
  if [ "$(stat -c %u "$venv")" != "$(id -u)" ] || [ -n "$(find "$venv" -maxdepth 2 -perm /022 ! -type l -print -quit)" ]; then
    echo "mlpipex: refusing the venv $venv: it is not owned by this user or others can write to it" >&2
    exit 2
  fi
fi
if [ ! -x "$venv/bin/mlpipex" ]; then
  mkdir -p "$(dirname "$venv")"
  rm -rf "$venv"
  (
    umask 022  # the check above must pass on the next run
    "$python" -m venv "$venv"
    pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    if [ -n "$lock" ]; then
      # every dependency pinned and hash-checked; mlpipex itself (a path or a wheel) without its deps
      "${pip[@]}" --require-hashes --no-deps -r "$lock"
      "${pip[@]}" --no-deps "$spec"
      if [ -n "$unlocked" ]; then
        echo "mlpipex: extras $(echo $unlocked | tr ' ' ,) are not in $lock: pip resolves their dependencies from the index, unpinned and unhashed"
        "${pip[@]}" "$spec" "mlpipex[$extras]"
      fi
    else
      # two requirements: pip puts the extras on what the spec names (a pin, a path, a URL);
      # "$spec[$extras]" made mlpipex==0.1.0[gitlab], which pip rejects
      "${pip[@]}" "$spec" "mlpipex[$extras]"
    fi
  )
fi
if [ -z "${KUBECONFIG:-}" ] && [ ! -f "${HOME:-/nonexistent}/.kube/config" ]; then
  echo "mlpipex: no kubeconfig (no kubeconfigCredentialsId, no KUBECONFIG): a baseline.environment is read from the registry tag REPOSITORY:<environment>, not the live InferenceService"
fi
args=("$MLPIPEX_COMMAND" -c "${MLPIPEX_CONFIG:-mlpipex.yaml}")
if [ "$MLPIPEX_COMMAND" = gate ]; then
  args+=(--report-dir "${MLPIPEX_REPORT_DIR:-.mlpipex/report}" --fail-on "${MLPIPEX_FAIL_ON:-fail}")
fi
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${MLPIPEX_ARGS:-}"
exec "$venv/bin/mlpipex" "${args[@]}"
