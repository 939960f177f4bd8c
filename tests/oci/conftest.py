"""Real registries for the OCI tests: Debian's docker-registry (distribution 2.8) on loopback.

Each fixture starts its own process on a free port with its own storage and stops
it afterwards: plain HTTP, htpasswd basic auth, and TLS from a throwaway CA
(trustme). `make test` installs docker-registry; elsewhere these tests skip and say so.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
USER, PASSWORD = "mlpipex", "s3cret-pa55"
TRITON_MODEL = "models/breast-cancer/1/model.onnx"  # the quickstart's model, where Triton reads a model repository


@dataclass
class Registry:
    address: str  # host:port
    storage: Path
    process: subprocess.Popen[bytes]
    ca_file: str | None = None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_registry(root: Path, *, htpasswd: Path | None = None, tls: tuple[Path, Path] | None = None,
                   port: int | None = None) -> Registry:  # fmt: skip
    if not Path(BINARY).exists():
        pytest.skip("Debian's docker-registry is not installed (`make test` installs it: apt-get install docker-registry)")
    port = port or free_port()
    root.mkdir(parents=True, exist_ok=True)
    storage = root / "storage"
    config: dict = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "mlpipex-test", "path": str(htpasswd)}}
    if tls:
        config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen([BINARY, "serve", str(root / "config.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    registry = Registry(f"127.0.0.1:{port}", storage, process)
    scheme = "https" if tls else "http"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(f"{scheme}://{registry.address}/v2/", timeout=1, verify=False)
            return registry
        except requests.exceptions.ConnectionError:
            time.sleep(0.05)
    registry.stop()
    raise RuntimeError("docker-registry did not start")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = start_registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[Registry]:
    htpasswd = tmp_path / "htpasswd"
    if not shutil.which("htpasswd"):
        pytest.skip("htpasswd (apache2-utils) is not installed; `make test` installs it")
    subprocess.run(["htpasswd", "-Bbc", str(htpasswd), USER, PASSWORD], check=True, capture_output=True)
    reg = start_registry(tmp_path / "registry", htpasswd=htpasswd)
    yield reg
    reg.stop()


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[Registry]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    ca.cert_pem.write_to_path(str(ca_file))
    reg = start_registry(tmp_path / "registry", tls=(cert_file, key_file))
    reg.ca_file = str(ca_file)
    yield reg
    reg.stop()


@pytest.fixture
def packaged(quickstart: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart, gated and packaged into its local store; the cwd is the example."""
    from mlpipex.cli import main

    monkeypatch.chdir(quickstart)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
    assert main(["package"]) == 0
    return quickstart


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """KServe's CRD behind a fake API server (KServe's admission code on every write), kubeconfig context `prod`."""
    from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, WEIGHTING, FakeKubernetes

    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")
    with FakeKubernetes(kserve=WEIGHTING) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig(tmp_path / "kubeconfig", context="prod")))
        yield server
