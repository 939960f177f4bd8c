"""The "pods": one real `mlpipex serve REF@DIGEST` process per model, pulled from the real
registry, started the first time traffic is routed to it (as the cluster starts a pod)
and always stopped at the end.

On the real control plane KWOK's pods run nothing, so each predictor pod KServe's
controller made gets a process here: ``url_for_modelcar`` takes the image of the
modelcar container KServe injected into the pod and finds, in the registry, the gated
artifact whose manifest names that image (the ``dev.mlpipex.modelcar.digest``
annotation `mlpipex push` writes), and serves that artifact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from oci.conftest import free_port

from mlpipex.oci import RegistryClient, modelcar_digest_of, parse_reference


class Pods:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: dict[str, tuple[subprocess.Popen[bytes], str, int]] = {}
        self._artifacts: dict[str, str] = {}  # modelcar image -> artifact

    def url_for(self, artifact: str) -> tuple[str, int]:
        """The pod serving ``artifact`` (started on first use) and its revision number."""
        if artifact not in self.running:
            port = free_port()
            process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", artifact, "--http-port", str(port)],
                                       cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       env=dict(os.environ))  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/v2/models/breast-cancer/ready", timeout=1):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        process.kill()
                        pytest.fail(f"mlpipex serve {artifact} failed: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                    time.sleep(0.2)
            self.running[artifact] = (process, base, len(self.running) + 1)
        _, base, revision = self.running[artifact]
        return base, revision

    def artifact_of(self, modelcar: str) -> str:
        """The gated artifact whose modelcar image is ``modelcar`` (REGISTRY/REPO@sha256:…), from the registry."""
        if modelcar not in self._artifacts:
            ref = parse_reference(modelcar)
            registry = RegistryClient(ref.registry)
            for tag in registry.tags(ref.repository):
                data, _, digest = registry.get_manifest(parse_reference(f"{ref.name}:{tag}"))
                if modelcar_digest_of(json.loads(data)) == ref.digest:
                    self._artifacts[modelcar] = f"{ref.name}@{digest}"
                    break
            else:
                pytest.fail(f"no artifact in {ref.name} names the modelcar image {ref.digest} KServe runs")
        return self._artifacts[modelcar]

    def url_for_modelcar(self, modelcar: str) -> str:
        """The `mlpipex serve` process standing in for a pod whose modelcar container runs ``modelcar``."""
        return self.url_for(self.artifact_of(modelcar))[0]

    def stop(self) -> None:
        for process, _, _ in self.running.values():
            process.terminate()
        for process, _, _ in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
