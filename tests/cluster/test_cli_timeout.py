"""A cluster that accepts the connection and never answers cannot hold a rollout or a gate
(issue 17): every request mlpipex.kserve.cluster makes has a (connect, read) timeout.

The "cluster" is a local listener that accepts TCP connections and sends nothing (a hung
API server, a proxy that swallows requests): no TLS handshake, no HTTP answer. Before the
timeout a `mlpipex status` against it waited for ever.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlpipex.errors import ExternalError, InputError
from mlpipex.kserve.cluster import DEFAULT_REQUEST_TIMEOUT, Cluster, request_timeout

from .packages import mlpipex

pytestmark = pytest.mark.timeout(120)

BOUND = 2.0  # MLPIPEX_KUBE_TIMEOUT in these tests: seconds to wait for an answer


@pytest.fixture
def silent_cluster(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(a kubeconfig, its server URL) of a listener that accepts and never replies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # kept open, never read, never written
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    server = f"https://127.0.0.1:{listener.getsockname()[1]}"
    kubeconfig = tmp_path / "silent.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "silent",
        "clusters": [{"name": "silent", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "ci", "user": {"token": "not-a-secret-but-never-printed"}}],
        "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "ci"}}]}))  # fmt: skip
    yield kubeconfig, server
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def test_a_read_of_a_silent_cluster_ends_within_the_timeout_naming_its_server(silent_cluster, monkeypatch) -> None:
    kubeconfig, server = silent_cluster
    monkeypatch.setenv("MLPIPEX_KUBE_TIMEOUT", str(BOUND))
    cluster = Cluster.connect(kubeconfig=str(kubeconfig))
    assert cluster.timeout == (BOUND, BOUND)
    started = time.monotonic()
    with pytest.raises(ExternalError) as caught:
        cluster.get("ml-prod", "breast-cancer")  # retries stay on: a timeout is not retried
    waited = time.monotonic() - started
    assert BOUND - 0.1 <= waited < BOUND + 2, waited
    assert caught.value.exit_code == 3
    assert f"the Kubernetes API server of the current kubeconfig context at {server} did not answer " \
           f"reading ml-prod/breast-cancer within {BOUND:g} s" in str(caught.value)  # fmt: skip
    assert "MLPIPEX_KUBE_TIMEOUT" in str(caught.value.fix) and server in str(caught.value.fix)


def test_the_cli_exits_3_within_the_bound_instead_of_hanging(silent_cluster, quickstart: Path) -> None:
    kubeconfig, server = silent_cluster
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {"storage": "fetch", "environments": [{"name": "production", "namespace": "ml-prod"}]}
    path.write_text(yaml.safe_dump(data))
    env = {"MLPIPEX_KUBE_TIMEOUT": str(BOUND)}
    for command in (["status"], ["deploy", "--artifact", "registry.invalid/acme/bc@sha256:" + "a" * 64]):
        started = time.monotonic()
        ran = mlpipex(quickstart, *command, "--provider", "local", kubeconfig=kubeconfig, env=env, timeout=60)
        waited = time.monotonic() - started
        assert ran.code == 3, ran.said
        assert waited < BOUND + 15, (command, waited)  # the process start (slow on a loaded machine), one timed-out read
        assert f"at {server} did not answer" in ran.said and f"within {BOUND:g} s" in ran.said, ran.said
        assert "MLPIPEX_KUBE_TIMEOUT" in ran.said
        assert "not-a-secret-but-never-printed" not in ran.said


def test_the_default_and_a_bad_setting() -> None:
    assert request_timeout({}) == DEFAULT_REQUEST_TIMEOUT == (10.0, 30.0)
    assert request_timeout({"MLPIPEX_KUBE_TIMEOUT": "120"}) == (10.0, 120.0)
    assert request_timeout({"MLPIPEX_KUBE_TIMEOUT": "3"}) == (3.0, 3.0)
    for bad in ("soon", "0", "-5"):
        with pytest.raises(InputError) as caught:
            request_timeout({"MLPIPEX_KUBE_TIMEOUT": bad})
        assert caught.value.exit_code == 2 and "MLPIPEX_KUBE_TIMEOUT" in str(caught.value)


def test_a_gate_whose_production_cluster_is_silent_is_not_held(silent_cluster, shipped) -> None:
    """baseline.environment: the live object cannot be read within the bound, so the gate falls back
    to the environment's registry tag at once (as a CI without cluster access does) and says why."""
    from mlpipex.oci import RegistryClient, parse_reference, tag

    kubeconfig, server = silent_cluster
    ref = parse_reference(shipped.a)
    tag(RegistryClient(shipped.registry), ref, "production", force=True)  # what deploy.environment_tags moved
    path = shipped.configure([{"name": "production", "namespace": "ml-prod"}])
    data = yaml.safe_load(path.read_text())
    data["baseline"] = {"environment": "production"}
    data["gates"]["compare"]["latency"]["iterations"] = 50
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    started = time.monotonic()
    gated = mlpipex(shipped.project, "gate", "--only", "compare", "--provider", "local", kubeconfig=kubeconfig,
                    env={"MLPIPEX_KUBE_TIMEOUT": str(BOUND)}, timeout=90)  # fmt: skip
    waited = time.monotonic() - started
    assert gated.code == 1, gated.said  # B compared with A and failed: not held, not a silent pass
    assert f"compared with {shipped.target}:production (registry tag; cluster not used: the Kubernetes API server" in gated.out
    assert f"= {shipped.target}@{ref.digest}" in gated.out, gated.out
    report = json.loads((shipped.project / ".mlpipex/report/report.json").read_text())
    assert report["baseline"]["artifact"] == f"{shipped.target}@{ref.digest}"
    assert report["baseline"]["requested"] == (
        f"{shipped.target}:production (registry tag; cluster not used: the Kubernetes API server of the current "
        f"kubeconfig context at {server} did not answer reading ml-prod/breast-cancer within {BOUND:g} s)")  # fmt: skip
    assert waited < BOUND + 30, waited  # the gate's own work (two models, 50 latency rounds) plus one timed-out read

    # No tag either (staging was never deployed by a mlpipex that moves tags): the cluster was asked and
    # failed, so "nothing deployed" cannot be told from "could not look": exit 3, not a skip.
    path = shipped.configure([{"name": "production", "namespace": "ml-prod"}, {"name": "staging", "namespace": "ml-stg"}])
    data = yaml.safe_load(path.read_text())
    data["baseline"] = {"environment": "staging"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    blind = mlpipex(shipped.project, "gate", "--only", "compare", "--provider", "local", kubeconfig=kubeconfig,
                    env={"MLPIPEX_KUBE_TIMEOUT": str(BOUND)}, timeout=90)  # fmt: skip
    assert blind.code == 3, blind.said
    assert "cannot tell what serves in staging: the cluster failed" in blind.said and server in blind.said, blind.said
