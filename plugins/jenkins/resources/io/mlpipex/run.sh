#!/usr/bin/env bash
# Run by every mlpipex step. Constant text: user values arrive only as environment
# variables (MLPIPEX_*), so nothing a user types is ever parsed as shell.
set -euo pipefail
venv=${MLPIPEX_VENV:-.mlpipex-venv}
if [ ! -x "$venv/bin/mlpipex" ]; then
  "${MLPIPEX_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${MLPIPEX_PIP_SPEC:-mlpipex}[${MLPIPEX_EXTRAS:-github}]"
fi
args=("$MLPIPEX_COMMAND" -c "${MLPIPEX_CONFIG:-mlpipex.yaml}")
if [ "$MLPIPEX_COMMAND" = gate ]; then
  args+=(--report-dir "${MLPIPEX_REPORT_DIR:-.mlpipex/report}" --fail-on "${MLPIPEX_FAIL_ON:-fail}")
fi
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${MLPIPEX_ARGS:-}"
exec "$venv/bin/mlpipex" "${args[@]}"
