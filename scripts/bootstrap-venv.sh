#!/usr/bin/env bash
# Create the project's virtualenv. On a fresh Debian, `python3 -m venv` needs the
# python3-venv package; as root we install it, otherwise we say how.
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}

if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found; install Python 3.10+ (Debian: apt-get install python3)" >&2
  exit 2
fi
if "$python" -m venv "$venv" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  exit 0
fi
rm -rf "$venv"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "python venv support is missing; installing python3-venv" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
else
  echo "error: '$python -m venv' failed; install your distribution's venv package (Debian: sudo apt-get install python3-venv)" >&2
  exit 2
fi
