#!/usr/bin/env bash
# The GitHub Action's cache key: pip's download cache keyed on what the action installs
# (requirements/ci.lock, requirements/deploy.lock and pyproject.toml of the action itself), never on the user's files.
# Writes to GITHUB_OUTPUT: key, pip-cache (the folder to cache) and installed (true when an
# earlier use in this job made the venv: nothing to restore then).
set -euo pipefail
action=${MLPIPEX_ACTION_PATH:?MLPIPEX_ACTION_PATH is not set}
python=${MLPIPEX_PYTHON:-python3}
hash=$(cat "$action/requirements/ci.lock" "$action/requirements/deploy.lock" "$action/pyproject.toml" | sha256sum | cut -c1-16)
installed=false
if compgen -G "${RUNNER_TEMP:?RUNNER_TEMP is not set}/mlpipex-venv-*/bin/mlpipex" >/dev/null; then installed=true; fi
{
  echo "key=mlpipex-pip-${RUNNER_OS:-Linux}-$hash"
  echo "pip-cache=$("$python" -m pip cache dir 2>/dev/null || echo "$HOME/.cache/pip")"
  echo "installed=$installed"
} >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
