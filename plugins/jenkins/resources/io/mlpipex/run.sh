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
lock_hash=none
if [ -n "$lock" ]; then lock_hash=$(sha256sum < "$lock" | cut -c1-64); fi
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
