"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and KWOK playing the kubelets of a CPU pool and a GPU pool.

Everything runs from a temporary folder. Authentication is by client certificate from a CA
made here and authorization is RBAC, so `kubeconfig_for(user, groups)` gives a test any
identity and the real authorizer decides. All processes share one process group and die
with the process that started them (PR_SET_PDEATHSIG), so a SIGKILLed pytest leaves none
behind; `reap_stale()` removes the folders such a run left.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from .build import Built
from .pki import CertificateAuthority, KeyPair, service_account_key

WORKDIR_PREFIX = "mlpipex-kube-"
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
SERVICE_CIDR = "10.96.0.0/16"


class ControlPlaneError(RuntimeError):
    """A component did not start; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGKILL it when the starting process dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def reap_stale(tmp: Path | None = None) -> None:
    """Kill and remove what a control plane left when its owner was SIGKILLed."""
    for folder in Path(tmp or tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        owner = folder / "owner"
        try:
            pid, pgid = (int(x) for x in owner.read_text().split())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue  # still in use
        try:
            if b".cache-go" in Path(f"/proc/{pgid}/cmdline").read_bytes():
                os.killpg(pgid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass
        shutil.rmtree(folder, ignore_errors=True)


def kubeconfig_text(server: str, ca_pem: bytes, user: str, pair: KeyPair, namespace: str = "default") -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mlpipex-test", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(pair.cert_pem), "client-key-data": b64(pair.key_pem)}}],
        "contexts": [{"name": user, "context": {"cluster": "mlpipex-test", "user": user, "namespace": namespace}}],
        "current-context": user,
    }
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    argv: list[str]
    env: dict[str, str]
    ready: tuple[Callable[[], bool], float, str] | None = None  # (check, timeout, what), kept for restarts

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class NodePool:
    name: str
    count: int
    capacity: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)


DEFAULT_POOLS = (
    NodePool("cpu", 2, {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
             {"mlpipex.test/pool": "cpu", "node.kubernetes.io/instance-type": "kwok-cpu-8"}),
    NodePool("gpu", 1, {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi", "nvidia.com/gpu": "2"},
             {"mlpipex.test/pool": "gpu", "node.kubernetes.io/instance-type": "kwok-gpu-2", "nvidia.com/gpu.present": "true",
              "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.count": "2"},
             [GPU_TAINT]),
)


class ControlPlane:
    def __init__(self, binaries: dict[str, Built], *, pools: tuple[NodePool, ...] = DEFAULT_POOLS,
                 log: Callable[[str], None] = lambda line: None) -> None:  # fmt: skip
        self.bins = binaries
        self.pools = pools
        self._log = log
        self.dir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.dir / "logs").mkdir()
        self.pki_dir = self.dir / "pki"
        self.pki_dir.mkdir(mode=0o700)
        self.ca = CertificateAuthority()
        self.processes: list[Process] = []
        self.pgid: int | None = None
        self.timings: dict[str, float] = {}
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.gateway_api: str | None = None  # the Gateway API CRDs installed, e.g. gateway-api@v1.5.1

    # ---- identities -------------------------------------------------------------------------
    def kubeconfig_for(self, user: str, groups: tuple[str, ...] = (), namespace: str = "default") -> Path:
        """A kubeconfig that authenticates as ``user`` in ``groups`` (RBAC decides what it may do)."""
        pair = self.ca.issue(user, groups=groups)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
        path = self.dir / f"user-{safe}.kubeconfig"
        path.touch(mode=0o600)
        path.write_text(kubeconfig_text(self.server, self.ca.cert_pem, user, pair, namespace))
        return path

    def api_client(self, kubeconfig: Path | None = None) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    # ---- processes ----------------------------------------------------------------------------
    def _popen(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as handle:
            kwargs: dict[str, Any] = {"process_group": 0 if self.pgid is None else self.pgid}  # one group: killpg at teardown
            return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir,
                                    env=env, preexec_fn=_die_with_parent, **kwargs)  # fmt: skip

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log = self.dir / "logs" / f"{name}.log"
        env = env or dict(os.environ)
        popen = self._popen(argv, env, log)
        if self.pgid is None:
            self.pgid = popen.pid
            (self.dir / "owner").write_text(f"{os.getpid()} {self.pgid}\n")
        process = Process(name, popen, log, argv, env)
        self.processes.append(process)
        return process

    # ---- faults -------------------------------------------------------------------------------
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one component the hard way (a crash, an OOM kill, a node going away)."""
        process = self.process(name)
        if process.popen.poll() is None:
            process.popen.send_signal(sig)
            process.popen.wait(timeout=15)

    def restart(self, name: str) -> None:
        """Start a killed (or running: it is killed first) component again with the same flags and
        ports, and wait until it is ready as at first start. etcd keeps its data, so does the cluster."""
        process = self.process(name)
        self.kill(name)
        process.popen = self._popen(process.argv, process.env, process.log)
        if process.ready:
            self._wait(process, *process.ready)

    def _wait(self, process: Process, ready: Callable[[], bool], timeout: float, what: str) -> None:
        process.ready = (ready, timeout, what)
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise ControlPlaneError(f"{process.name} exited with {process.popen.returncode} before {what}:\n{process.tail()}")
            try:
                if ready():
                    self.timings[process.name] = round(time.monotonic() - started, 2)
                    return
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.2)
        raise ControlPlaneError(f"{process.name}: no {what} after {timeout:.0f} s:\n{process.tail()}")

    def _client_kubeconfig(self, name: str, user: str, groups: tuple[str, ...] = ()) -> Path:
        path = self.pki_dir / f"{name}.kubeconfig"
        path.write_text(kubeconfig_text(self.server, self.ca.cert_pem, user, self.ca.issue(user, groups=groups)))
        return path

    def _serving_cert(self, name: str, *hosts: str) -> tuple[Path, Path]:
        return self.ca.issue(name, hosts=hosts or ("127.0.0.1", "localhost"), server=True).write(self.pki_dir, f"{name}-serving")

    # ---- start / stop -------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        reap_stale()
        started = time.monotonic()
        try:
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
            self._start_scheduler()
            self._start_kwok()
            self._create_nodes()
            self._wait_cluster_ready()
            self._install_gateway_api()
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = round(time.monotonic() - started, 2)
        self._log(f"==> control plane up in {self.timings['total']} s ({self.server}, {self.dir})")
        return self

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{client}"
        self.etcd_url = url
        process = self._spawn("etcd", [
            str(self.bins["etcd"].binary("etcd")), "--name=default", f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}", "--unsafe-no-fsync", "--log-level=warn",
            "--quota-backend-bytes=2147483648",
        ])  # fmt: skip
        self._wait(process, lambda: requests.get(f"{url}/health", timeout=2).json().get("health") == "true", 30, "healthy /health")

    def _start_apiserver(self) -> None:
        cert, key = self._serving_cert("kube-apiserver", "127.0.0.1", "localhost", "10.96.0.1", "kubernetes",
                                       "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")  # fmt: skip
        ca_cert, ca_key = self.ca.pair.write(self.pki_dir, "ca")
        self.ca_file, self.ca_key_file = ca_cert, ca_key
        sa_key = self.pki_dir / "sa.key"
        sa_key.touch(mode=0o600)
        private, public = service_account_key()
        sa_key.write_bytes(private)
        sa_pub = self.pki_dir / "sa.pub"
        sa_pub.write_bytes(public)
        self.sa_key = sa_key
        admin = self.ca.issue("mlpipex-admin", groups=("system:masters",))
        self.kubeconfig.touch(mode=0o600)
        self.kubeconfig.write_text(kubeconfig_text(self.server, self.ca.cert_pem, "mlpipex-admin", admin))
        self._admin_cert = admin.write(self.pki_dir, "admin")
        process = self._spawn("kube-apiserver", [
            str(self.bins["kubernetes"].binary("kube-apiserver")), f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--cert-dir={self.dir / 'apiserver'}", f"--tls-cert-file={cert}", f"--tls-private-key-file={key}",
            f"--client-ca-file={ca_cert}", "--authorization-mode=RBAC", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
            "--allow-privileged=true", "--profiling=false", "--anonymous-auth=false", "--v=0",
        ])  # fmt: skip
        self._wait(process, lambda: requests.get(f"{self.server}/readyz", cert=self._admin_cert, verify=str(ca_cert),
                                                 timeout=3).text == "ok", 90, "ready /readyz")  # fmt: skip

    def _component_flags(self, name: str, user: str) -> tuple[list[str], int]:
        kubeconfig = self._client_kubeconfig(name, user)
        cert, key = self._serving_cert(name)
        port = free_port()
        return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", f"--secure-port={port}",
                f"--tls-cert-file={cert}", f"--tls-private-key-file={key}", "--leader-elect=false"], port  # fmt: skip

    def _healthz(self, port: int) -> bool:
        return requests.get(f"https://127.0.0.1:{port}/healthz", verify=str(self.ca_file), timeout=3).text == "ok"

    def _start_controller_manager(self) -> None:
        flags, port = self._component_flags("kube-controller-manager", "system:kube-controller-manager")
        process = self._spawn("kube-controller-manager", [
            str(self.bins["kubernetes"].binary("kube-controller-manager")), *flags,
            "--use-service-account-credentials=true", f"--service-account-private-key-file={self.sa_key}",
            f"--root-ca-file={self.ca_file}", f"--cluster-signing-cert-file={self.ca_file}",
            f"--cluster-signing-key-file={self.ca_key_file}", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*,-nodeipam", "--v=0",
        ])  # fmt: skip
        self._wait(process, lambda: self._healthz(port), 60, "healthy /healthz")

    def _start_scheduler(self) -> None:
        flags, port = self._component_flags("kube-scheduler", "system:kube-scheduler")
        process = self._spawn("kube-scheduler", [str(self.bins["kubernetes"].binary("kube-scheduler")), *flags, "--v=0"])
        self._wait(process, lambda: self._healthz(port), 60, "healthy /healthz")

    def _start_kwok(self) -> None:
        kubeconfig = self._client_kubeconfig("kwok", "kwok-controller", ("system:masters",))
        stages = self.dir / "kwok.yaml"
        stages.write_text(kwok_stages(self.bins["kwok"]))
        port = free_port()
        process = self._spawn("kwok", [
            str(self.bins["kwok"].binary("kwok")), f"--kubeconfig={kubeconfig}", f"--config={stages}",
            "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION[0]}={KWOK_ANNOTATION[1]}",
            f"--server-address=127.0.0.1:{port}", "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
        ], env=dict(os.environ, HOME=str(self.dir)))  # fmt: skip  (HOME: kwok keeps state under ~/.kwok)
        self._wait(process, lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok, 30, "healthy /healthz")

    def node_manifests(self) -> list[dict[str, Any]]:
        nodes = []
        for pool in self.pools:
            for i in range(pool.count):
                name = f"kwok-{pool.name}-{i}"
                nodes.append({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1]},
                                 "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                            "kubernetes.io/arch": "amd64", **pool.labels}},
                    "spec": {"taints": list(pool.taints)} if pool.taints else {},
                    "status": {"capacity": dict(pool.capacity), "allocatable": dict(pool.capacity)},
                })  # fmt: skip
        return nodes

    def _create_nodes(self) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self.api_client())
        for node in self.node_manifests():
            core.create_node(node)

    def _wait_cluster_ready(self, timeout: float = 60) -> None:
        from kubernetes import client

        api = self.api_client()
        core = client.CoreV1Api(api)
        started = time.monotonic()
        expected = sum(p.count for p in self.pools)
        while time.monotonic() - started < timeout:
            for process in self.processes:
                if process.popen.poll() is not None:
                    raise ControlPlaneError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
            ready = [n for n in core.list_node().items
                     if any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))]  # fmt: skip
            accounts = core.list_namespaced_service_account("default").items
            if len(ready) == expected and any(a.metadata.name == "default" for a in accounts):
                self.timings["nodes-ready"] = round(time.monotonic() - started, 2)
                return
            time.sleep(0.3)
        raise ControlPlaneError(f"nodes not Ready or no default ServiceAccount after {timeout:.0f} s\n"
                                f"kwok:\n{self.processes[-1].tail()}")  # fmt: skip

    def _install_gateway_api(self, timeout: float = 60) -> None:
        """The Gateway API's standard-channel CRDs (HTTPRoute, Gateway, ...), as a cluster with a gateway has them.

        No gateway controller runs: nothing writes a route's status unless a test does (through
        the status subresource, as a controller would)."""
        from kubernetes import client
        from kubernetes.dynamic import DynamicClient

        from .build import BuildError, gateway_api_crds

        started = time.monotonic()
        try:
            folder = gateway_api_crds(log=self._log)
        except BuildError as error:
            raise ControlPlaneError(str(error)) from None
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        definitions = [d for path in sorted(folder.glob("*.yaml"))
                       for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader)
                       if d and d.get("kind") == "CustomResourceDefinition"]  # fmt: skip
        api = self.api_client()
        crds = DynamicClient(api).resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
        for definition in definitions:
            crds.server_side_apply(definition, field_manager="mlpipex-test-gateway-api", force_conflicts=True)
        extensions = client.ApiextensionsV1Api(api)
        names = [d["metadata"]["name"] for d in definitions]
        deadline = time.monotonic() + timeout
        while names and time.monotonic() < deadline:
            names = [n for n in names if not any(c.type == "Established" and c.status == "True"
                                                 for c in (extensions.read_custom_resource_definition(n).status.conditions or []))]  # fmt: skip
            if names:
                time.sleep(0.2)
        if names:
            raise ControlPlaneError(f"Gateway API CRDs not Established after {timeout:.0f} s: {names}")
        self.gateway_api = folder.name  # e.g. gateway-api@v1.5.1
        self.timings["gateway-api"] = round(time.monotonic() - started, 2)

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def stop(self) -> None:
        # Clients first, the API server and etcd last, one at a time: an API server told to stop
        # while its clients still hold watches waits for them (10 s), in this order it takes ~1 s.
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                process.popen.terminate()
            try:
                process.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=10)
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)  # anything a component forked
        if not os.environ.get("MLPIPEX_KEEP_CLUSTER"):
            shutil.rmtree(self.dir, ignore_errors=True)


def kwok_stages(kwok: Built) -> str:
    """KWOK's own stages, read from its module: nodes become Ready and keep a lease, pods run, deleted pods go."""
    from .build import COMPONENTS, module_info

    _, source = module_info(COMPONENTS["kwok"])
    stage_dir = source / "kustomize" / "stage"
    files = [stage_dir / "node" / "fast" / "node-initialize.yaml",
             stage_dir / "node" / "heartbeat-with-lease" / "node-heartbeat-with-lease.yaml",
             *(stage_dir / "pod" / "fast" / f for f in ("pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"))]  # fmt: skip
    return "\n---\n".join(f.read_text(encoding="utf-8").strip() for f in files) + "\n"
