#!/usr/bin/env bash
# The test control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK GPU/CPU
# nodes, and optionally KServe v0.20.0's controller), built from Go modules once into
# .cache-go/ and run on loopback from a temporary folder.
#
#   scripts/cluster.sh build [COMPONENT...]   build (or reuse) etcd kubernetes kwok helm kserve-manager
#   scripts/cluster.sh up [--kserve]          start it, print the kubeconfig path, run until Ctrl-C
#
# Exit codes: 0 ok, 2 bad arguments, 3 a build or a component failed (its error is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m tests.cluster "$@"
