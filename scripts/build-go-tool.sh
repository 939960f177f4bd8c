#!/usr/bin/env bash
# Build a Go program of the test suite (a module under tests/) once, cached by its
# inputs, and print the folder that holds the binary.
#
#   scripts/build-go-tool.sh MODULE_DIR NAME DEP_MODULE
#
# MODULE_DIR holds the program's go.mod/go.sum; DEP_MODULE is the outside module
# whose version names the cache (github.com/kserve/kserve for the admission oracle).
# The result lands in .cache-go/NAME@VERSION/ with a stamp of every input (sources,
# go.mod, go.sum, Go version); a later run with the same inputs builds nothing.
# Go's own module cache (GOMODCACHE) is shared with the rest of the machine.
# If the module pins its dependency with `replace` directives (KServe's go.mod has
# them), the program's go.mod repeats them: `go install` of such a module is refused.
# Hook: if MODULE_DIR/postbuild.sh exists it runs with the output folder and the
# dependency's source folder (to copy files the program reads, e.g. KServe's ConfigMap).
set -euo pipefail
cd "$(dirname "$0")/.."
module_dir=$1 name=$2 dep=$3
command -v go >/dev/null 2>&1 || { echo "error: go is not installed (needed to build $name)" >&2; exit 3; }
export GOFLAGS=-buildvcs=false
version=$(cd "$module_dir" && go list -m -f '{{.Version}}' "$dep")
out=".cache-go/$name@$version"
stamp=$( { go version; cd "$module_dir" && cat go.mod go.sum ./*.go && if [ -f postbuild.sh ]; then cat postbuild.sh; fi; } | sha256sum | cut -c1-16)
if [ -x "$out/$name" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$out"
  exit 0
fi
echo "==> building $name against $dep@$version into $out" >&2
start=$(date +%s)
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)
rm -f "$out/.stamp"
(cd "$module_dir" && go mod download "$dep" && go build -trimpath -o "$out_abs/$name" .) >&2 \
  || { echo "error: building $name failed (see above)" >&2; exit 3; }
if [ -f "$module_dir/postbuild.sh" ]; then
  dep_dir=$(cd "$module_dir" && go list -m -f '{{.Dir}}' "$dep")
  bash "$module_dir/postbuild.sh" "$out" "$dep_dir" >&2
fi
echo "$stamp" > "$out/.stamp"
echo "==> built $name in $(( $(date +%s) - start )) s" >&2
echo "$out"
