#!/usr/bin/env bash
# Refresh requirements/ci.lock (every dependency of the CI install, mlpipex[github,gitlab,oci]) and
# requirements/images.lock (the container images', for Python 3.11), each
# pinned with the sha256 of each of its distributions (ci.lock: for Python 3.10+), on any platform.
#   scripts/lock.sh            rewrite the lock from pyproject.toml (needs PyPI)
# Install with it:  pip install --require-hashes --no-deps -r requirements/ci.lock && pip install --no-deps .
# tests/packaging/test_lock.py checks the lock still satisfies pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
[ -x "$uv" ] || { .venv/bin/python -m pip install --quiet --disable-pip-version-check uv; uv=.venv/bin/uv; }
"$uv" pip compile pyproject.toml --extra github --extra gitlab --extra oci \
  --universal --python-version 3.10 --generate-hashes --no-header --quiet \
  --custom-compile-command "scripts/lock.sh" -o requirements/ci.lock
{ printf '# mlpipex[github,gitlab,oci] dependencies, pinned and hashed. Regenerate: scripts/lock.sh\n'; cat requirements/ci.lock; } > requirements/ci.lock.tmp
mv requirements/ci.lock.tmp requirements/ci.lock
echo "requirements/ci.lock: $(grep -c '^[a-zA-Z]' requirements/ci.lock) packages"

# requirements/images.lock: the container images' install (deploy/{app,monitor,kserve}/Dockerfile),
# mlpipex[app,monitor,kserve,oci] and the build backend (the images build mlpipex with
# --no-build-isolation, so nothing unhashed is fetched), for the images' Python 3.11.
build_in=$(mktemp)
trap 'rm -f "$build_in"' EXIT
printf 'setuptools>=77\n' > "$build_in"
"$uv" pip compile pyproject.toml "$build_in" --extra app --extra monitor --extra kserve --extra oci \
  --universal --python-version 3.11 --generate-hashes --no-header --quiet \
  --custom-compile-command "scripts/lock.sh" -o requirements/images.lock
{ printf '# mlpipex[app,monitor,kserve,oci] and setuptools for the images (Python 3.11), pinned and hashed. Regenerate: scripts/lock.sh\n'
  sed "s|$build_in|the build backend (scripts/lock.sh)|" requirements/images.lock; } > requirements/images.lock.tmp
mv requirements/images.lock.tmp requirements/images.lock
echo "requirements/images.lock: $(grep -c '^[a-zA-Z]' requirements/images.lock) packages"
