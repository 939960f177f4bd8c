"""Session fixtures: one real control plane (and one KServe controller) for all cluster tests.

Built from Go modules on first use (minutes) and cached in .cache-go/; started in a
temporary folder on loopback (seconds). Under CI=true a missing Go toolchain or a failed
build or start fails the tests; on a machine without Go they skip and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .build import BuildError, build_all, go_binary
from .controlplane import ControlPlane, ControlPlaneError

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: the test control plane is required: {reason}", pytrace=False)
    pytest.skip(reason)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# One control plane and one KServe controller per run, also when another package's conftest
# re-exports these fixtures (tests/e2e does): pytest would otherwise set up one per conftest.
# The first to start one tears it down; LIFO teardown finalizes the later users first.
_PLANE = pytest.StashKey[ControlPlane]()
_KSERVE = pytest.StashKey[object]()


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    if _PLANE in request.config.stash:
        yield request.config.stash[_PLANE]
        return
    if go_binary() is None:
        _unavailable("go is not installed: the control plane (etcd, kube-apiserver, KWOK...) is built from Go modules")
    try:
        binaries = build_all(["etcd", "kubernetes", "kwok"], log=_log)
    except BuildError as error:
        _unavailable(str(error))
    plane = ControlPlane(binaries, log=_log)
    try:
        plane.start()
    except ControlPlaneError as error:
        _unavailable(f"the control plane did not start: {error}")
    request.config.stash[_PLANE] = plane
    try:
        yield plane
    finally:
        del request.config.stash[_PLANE]
        plane.stop()


@pytest.fixture(scope="session")
def kserve(request: pytest.FixtureRequest, control_plane: ControlPlane) -> Iterator[object]:
    """KServe v0.20.0's controller manager and webhooks, installed into the control plane."""
    from .kserve import KServeController

    if _KSERVE in request.config.stash:
        yield request.config.stash[_KSERVE]
        return

    try:
        manager = build_all(["kserve-manager"], log=_log)["kserve-manager"]
    except BuildError as error:
        _unavailable(str(error))
    try:
        controller = KServeController(control_plane, manager).start()
    except ControlPlaneError as error:
        _unavailable(f"KServe's controller did not start: {error}")
    request.config.stash[_KSERVE] = controller
    try:
        yield controller
    finally:
        del request.config.stash[_KSERVE]


@pytest.fixture(scope="session")
def helm(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Helm v3 built from its module, talking to the control plane; its state in a temp folder."""
    try:
        binary = build_all(["helm"], log=_log)["helm"].binary("helm")
    except BuildError as error:
        _unavailable(str(error))
    home = tmp_path_factory.mktemp("helm")
    env = dict(os.environ, KUBECONFIG=str(control_plane.kubeconfig), HELM_CACHE_HOME=str(home / "cache"),
               HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))  # fmt: skip

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(binary), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False)

    yield run


@pytest.fixture
def namespace(request: pytest.FixtureRequest, control_plane: ControlPlane, kserve: object) -> Iterator[str]:
    """A fresh namespace per test, named after its module (test_kserve_controller.py → kserve-1a2b3c4d), deleted
    after. Short on purpose: KServe puts `{isvc}-{predictor}-predictor-{namespace}` into one 63-character DNS label."""
    from kubernetes import client

    from .objects import create_namespace

    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").split("_")[0]
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    create_namespace(control_plane.api_client(), name)
    yield name
    client.CoreV1Api(control_plane.api_client()).delete_namespace(name)


@pytest.fixture
def more_namespaces(request: pytest.FixtureRequest, control_plane: ControlPlane, kserve: object) -> Iterator[Callable[[], str]]:
    """Further namespaces (a staging beside production), named and deleted like ``namespace``'s."""
    from kubernetes import client

    from .objects import create_namespace

    made: list[str] = []
    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").split("_")[0]

    def make() -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        create_namespace(control_plane.api_client(), name)
        made.append(name)
        return name

    yield make
    for name in made:
        client.CoreV1Api(control_plane.api_client()).delete_namespace(name)


@pytest.fixture
def shipped(quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Iterator[object]:  # fmt: skip
    """Models A and B packaged (with modelcar images) and pushed to a real registry; the cwd is the project."""
    from tests.oci.conftest import start_registry

    from .packages import ship

    registry = start_registry(tmp_path / "registry")
    monkeypatch.chdir(quickstart)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    try:
        yield ship(quickstart, registry.address, capsys)
    finally:
        registry.stop()
