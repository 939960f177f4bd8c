#!/usr/bin/env bash
# Refresh the hashed locks, each pin carrying the sha256 of each of its distributions, on any platform:
#   requirements/ci.lock      mlpipex[github,gitlab,oci] for Python 3.10+: the gate-only CI jobs (lighter)
#   requirements/deploy.lock  mlpipex[github,gitlab,oci,kserve] for Python 3.10+: the jobs that hold
#                             cluster credentials (deploy, promote, rollback, canary, a gate reading the
#                             live InferenceService), so the kserve SDK and kubernetes client are pinned too
#   requirements/images.lock  the container images', for Python 3.11
#   scripts/lock.sh            rewrite the locks from pyproject.toml (needs PyPI)
# Install with one:  pip install --require-hashes --no-deps -r requirements/ci.lock && pip install --no-deps .
# tests/packaging/test_lock.py checks the locks still satisfy pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
[ -x "$uv" ] || { .venv/bin/python -m pip install --quiet --disable-pip-version-check uv; uv=.venv/bin/uv; }
# compile_ci_lock FILE EXTRA...: mlpipex[EXTRA...] for Python 3.10+, universal, with a header naming it;
# LOCK_CONSTRAINTS (a lock) holds its shared pins to that lock's versions.
compile_ci_lock() {
  local out=$1; shift
  local extra_args=() extra
  for extra in "$@"; do extra_args+=(--extra "$extra"); done
  if [ -n "${LOCK_CONSTRAINTS:-}" ]; then extra_args+=(--constraint "$LOCK_CONSTRAINTS"); fi
  "$uv" pip compile pyproject.toml "${extra_args[@]}" \
    --universal --python-version 3.10 --generate-hashes --no-header --quiet \
    --custom-compile-command "scripts/lock.sh" -o "$out"
  { printf '# mlpipex[%s] dependencies, pinned and hashed. Regenerate: scripts/lock.sh\n' "$(IFS=,; echo "$*")"
    printf '# %s\n' "${LOCK_PURPOSE:?}"
    cat "$out"; } > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "$out: $(grep -c '^[a-zA-Z]' "$out") packages"
}
LOCK_PURPOSE="Jobs with cluster credentials: deploy, promote, rollback, canary, a gate reading the live InferenceService." \
  compile_ci_lock requirements/deploy.lock github gitlab oci kserve
# ci.lock pins what it shares with deploy.lock at deploy.lock's versions: a job whose gate ran from
# ci.lock and then adds kserve (the Action's deploy step) only adds packages, it moves none.
LOCK_PURPOSE="Gate-only CI jobs (lighter); its pins are deploy.lock's, which adds the kserve extra." LOCK_CONSTRAINTS=requirements/deploy.lock \
  compile_ci_lock requirements/ci.lock github gitlab oci

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
