#!/usr/bin/env bash
# The GitHub Action's one step: build the argument list from environment variables
# (never from text interpolated into this script) and run the CLI.
set -euo pipefail
args=("${MLPIPEX_COMMAND:-gate}" -c "${MLPIPEX_CONFIG:-mlpipex.yaml}")
if [ "${MLPIPEX_COMMAND:-gate}" = gate ]; then
  args+=(--report-dir "${MLPIPEX_REPORT_DIR:-.mlpipex/report}" --fail-on "${MLPIPEX_FAIL_ON:-fail}")
fi
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${MLPIPEX_ARGS:-}"
exec mlpipex "${args[@]}"
