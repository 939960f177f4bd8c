"""The "pods": one real `mlpipex serve REF@DIGEST` process per revision, pulled from the
real registry, started the first time a revision's storageUri is routed to (as the
cluster would start a revision's pod) and always stopped at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from oci.conftest import free_port


class Pods:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: dict[str, tuple[subprocess.Popen[bytes], str, int]] = {}

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

    def stop(self) -> None:
        for process, _, _ in self.running.values():
            process.terminate()
        for process, _, _ in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
