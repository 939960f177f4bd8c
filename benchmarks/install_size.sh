#!/usr/bin/env bash
# Size on disk and install time of a fresh venv with the base install, next to `all`.
# Wheels come from pip's cache after the first run, so the times measure resolution
# and unpacking, not the network; run once to warm the cache, then again to record.
#   bash benchmarks/install_size.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '| install | seconds | size on disk |\n|---|---|---|\n'
for extra in base all; do
  "$python" -m venv "$work/$extra"
  "$work/$extra/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  empty=$(du -sm "$work/$extra" | cut -f1)
  spec="$root"; [ "$extra" = base ] || spec="$root[$extra]"
  start=$(date +%s.%N)
  "$work/$extra/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >/dev/null 2>&1
  end=$(date +%s.%N)
  size=$(du -sm "$work/$extra" | cut -f1)
  printf '| `pip install %s` | %.0f | %d MB (venv with pip alone: %d MB) |\n' \
    "$([ "$extra" = base ] && echo mlpipex || echo "'mlpipex[all]'")" "$(echo "$end - $start" | bc)" "$size" "$empty"
done
