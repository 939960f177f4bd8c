#!/usr/bin/env bash
# The GitHub Action's one step: build the argument list from environment variables
# (never from text interpolated into this script) and run the CLI.
#
# Inputs that carry secrets arrive as MLPIPEX_INPUT_*: an empty input leaves what the job
# itself set (a job-level MLPIPEX_REGISTRY_USERNAME, the KUBECONFIG of a cloud login step).
#   MLPIPEX_INPUT_REGISTRY_USERNAME/PASSWORD  -> MLPIPEX_REGISTRY_USERNAME/PASSWORD
#   MLPIPEX_INPUT_KUBECONFIG                  the kubeconfig's contents -> a 0600 file under
#                                             RUNNER_TEMP, KUBECONFIG for mlpipex's process only
set -euo pipefail
args=("${MLPIPEX_COMMAND:-gate}" -c "${MLPIPEX_CONFIG:-mlpipex.yaml}")
if [ "${MLPIPEX_COMMAND:-gate}" = gate ]; then
  args+=(--report-dir "${MLPIPEX_REPORT_DIR:-.mlpipex/report}" --fail-on "${MLPIPEX_FAIL_ON:-fail}")
fi
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${MLPIPEX_ARGS:-}"

if [ -n "${MLPIPEX_INPUT_REGISTRY_USERNAME:-}" ] || [ -n "${MLPIPEX_INPUT_REGISTRY_PASSWORD:-}" ]; then
  if [ -z "${MLPIPEX_INPUT_REGISTRY_USERNAME:-}" ] || [ -z "${MLPIPEX_INPUT_REGISTRY_PASSWORD:-}" ]; then
    echo "error: action inputs registry-username and registry-password: one is set, the other is empty" >&2
    echo "  fix: set both (the password from a secret), or neither (ghcr.io then uses github-token)" >&2
    exit 2
  fi
  export MLPIPEX_REGISTRY_USERNAME="$MLPIPEX_INPUT_REGISTRY_USERNAME" MLPIPEX_REGISTRY_PASSWORD="$MLPIPEX_INPUT_REGISTRY_PASSWORD"
fi
unset MLPIPEX_INPUT_REGISTRY_USERNAME MLPIPEX_INPUT_REGISTRY_PASSWORD

kubeconfig=${MLPIPEX_INPUT_KUBECONFIG:-}
unset MLPIPEX_INPUT_KUBECONFIG  # mlpipex gets a path, never the contents
if [ -z "$kubeconfig" ]; then
  if [ -z "${KUBECONFIG:-}" ] && [ ! -f "${HOME:-/nonexistent}/.kube/config" ]; then
    echo "mlpipex: no kubeconfig (input kubeconfig empty, no KUBECONFIG): a baseline.environment is read from the registry tag REPOSITORY:<environment>, not the live InferenceService"
  fi
  exec mlpipex "${args[@]}"
fi

# A secret's lines are masked by the runner; a kubeconfig from elsewhere (another step's output)
# is not, so its credential values are masked here before anything can print them.
key_pattern='(^|[[:space:]{,-])[A-Za-z-]*(token|key|password|secret|certificate)[A-Za-z-]*:[[:space:]]*["'"'"']?([^"'"'"'[:space:],}]{8,})'
while IFS= read -r line; do
  # every match on the line (a flow mapping holds several)
  while [[ $line =~ $key_pattern ]]; do
    echo "::add-mask::${BASH_REMATCH[3]}"
    line=${line#*"${BASH_REMATCH[0]}"}
  done
done <<< "$kubeconfig"

file=$(umask 077 && mktemp "${RUNNER_TEMP:?RUNNER_TEMP is not set}/mlpipex-kubeconfig.XXXXXXXX")
trap 'rm -f "$file"' EXIT
trap 'exit 143' TERM INT  # the EXIT trap removes the file on a cancel too
printf '%s\n' "$kubeconfig" > "$file"
unset kubeconfig
echo "mlpipex: kubeconfig from the kubeconfig input (a 0600 file under RUNNER_TEMP, removed when this step ends)"
code=0
KUBECONFIG="$file" mlpipex "${args[@]}" || code=$?
exit "$code"
