#!/usr/bin/env bash
# `make test`: install what the tests need, then run the whole suite.
# Idempotent: a second run skips installs whose inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
py="$venv/bin/python"
[ -x "$py" ] || scripts/bootstrap-venv.sh "$venv"

stamp="$venv/.test-installed-$(cat pyproject.toml examples/quickstart/requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing mlpipex with the test extra"
  "$py" -m pip install --quiet --disable-pip-version-check -e '.[test]' -r examples/quickstart/requirements.txt
  rm -f "$venv"/.test-installed-* && touch "$stamp"
fi

echo "==> lint"
"$venv/bin/ruff" check core app tests benchmarks examples
"$venv/bin/mypy" core app

echo "==> tests"
mkdir -p .mlpipex/test-results
set +e
"$py" -m pytest --junitxml=.mlpipex/test-results/junit.xml "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "error: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
