"""The package loads the way KServe loads it: modelcar (oci://, v0.20.0) and oci+fetch:// (master).

modelcar: the image is pulled from the real registry, unpacked into a rootfs, and the
exact commands KServe's injected containers run are run in it with chroot. fetch:
KServe's own storage-initializer code (PyPI kserve-storage) pulls the artifact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main
from mlpipex.oci import Layout, RegistryClient, parse_reference, resolve_storage_uri, storage_uri
from mlpipex.serving import open_package

from .conftest import TRITON_MODEL
from .modelcar_base import (
    busybox_binary,
    busybox_layer,
    can_chroot,
    empty_models_layer,
    push_docker_index,
    push_image,
    unpack_image,
)

# Copied from KServe's pkg/utils/storage.go, identical at v0.20.0 (1fb781055dd1567164358233e1125142ca6ef1fe) and
# master (aaac4e294dae2c7b1aa1886447793f3aa1c30912): CreateModelcarInitContainer's args[2] (IMAGE is the image
# reference KServe puts there) and modelcarCommand(constants.DefaultModelLocalMountPath = "/mnt/models") for the
# sidecar (CreateModelcarContainer). Both run as `sh -c <this>`, written for Kubernetes's $(VAR) expansion.
KSERVE_INIT = ("echo 'Pre-fetching modelcar IMAGE: ' && [ -d /models ] && [ \"$$(ls -A /models)\" ] && echo 'OK ... "
               "Prefetched and valid (/models exists)' || (echo 'NOK ... Prefetched but modelcar is invalid (/models "
               "does not exist or is empty)' && exit 1)")  # fmt: skip
KSERVE_SIDECAR = "ln -sf /proc/$$$$/root/models /mnt/models && sleep infinity"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
KSERVE_VENV = Path(__file__).resolve().parents[2] / ".venv-kserve-storage"


def kubernetes_expand(text: str, env: dict[str, str] | None = None) -> str:
    """What the kubelet does to args (k8s third_party/forked/golang/expansion): $$ -> $, $(VAR) -> its value."""
    env = env or {}
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            if text[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if text[i + 1] == "(" and (end := text.find(")", i)) > 0 and text[i + 2:end] in env:
                out.append(env[text[i + 2:end]])
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def test_kubernetes_expansion_gives_the_shell_what_kserve_meant():
    assert kubernetes_expand(KSERVE_SIDECAR) == "ln -sf /proc/$$/root/models /mnt/models && sleep infinity"
    assert '[ "$(ls -A /models)" ]' in kubernetes_expand(KSERVE_INIT)


@pytest.fixture
def base(registry, tmp_path) -> str:
    """The busybox-static base in the test registry, pinned by digest."""
    client = RegistryClient(registry.address)
    return push_image(client, "base/busybox", "1.35", [busybox_layer(busybox_binary(tmp_path))])


@pytest.fixture
def with_modelcar(packaged, base, capsys) -> Path:
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["package"] = {"modelcar": {"base": base}}
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    assert main(["package"]) == 0
    capsys.readouterr()
    return packaged


def _push(capsys, registry) -> tuple[str, str]:
    assert main(["push", "--to", f"{registry.address}/models/bc"]) == 0
    captured = capsys.readouterr()
    modelcar = re.search(r"modelcar image (\S+)", captured.err)
    assert modelcar, captured.err
    return captured.out.strip(), modelcar[1]


def _init(rootfs: Path, image: str) -> subprocess.CompletedProcess[str]:
    command = kubernetes_expand(KSERVE_INIT.replace("IMAGE", image))
    return subprocess.run([CHROOT, str(rootfs), "sh", "-c", command], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/bin"})  # fmt: skip


def test_modelcar_image_runs_kserves_containers(with_modelcar, registry, capsys, tmp_path):
    if not can_chroot():
        pytest.skip("running KServe's commands in the unpacked image needs root (chroot)")
    artifact, image = _push(capsys, registry)
    client = RegistryClient(registry.address)
    rootfs = tmp_path / "rootfs"
    manifest = unpack_image(client, image, rootfs)
    assert len(manifest["layers"]) == 2  # busybox, then the model layer (the artifact's own blob)
    assert manifest["layers"][1]["digest"] == json.loads(client.get_manifest(parse_reference(artifact))[0])["layers"][0]["digest"]

    init = _init(rootfs, image.split("@")[0])
    assert init.returncode == 0, init.stdout + init.stderr
    assert "OK ... Prefetched and valid (/models exists)" in init.stdout

    (rootfs / "mnt").mkdir()  # the emptyDir KServe mounts at the parent of /mnt/models
    sidecar = subprocess.Popen([CHROOT, str(rootfs), "sh", "-c", kubernetes_expand(KSERVE_SIDECAR)],
                               env={"PATH": "/bin"}, start_new_session=True)  # fmt: skip
    try:
        link = rootfs / "mnt" / "models"
        deadline = time.monotonic() + 10
        while not link.is_symlink() and time.monotonic() < deadline:
            time.sleep(0.05)
        # The sidecar's shell is the process whose root holds /models: /proc/<its pid>/root/models.
        assert os.readlink(link) == f"/proc/{sidecar.pid}/root/models"
        time.sleep(0.2)
        assert sidecar.poll() is None  # `sleep infinity` keeps it (and so the model) alive
        mounted = Path(os.readlink(link))  # what the server container sees at /mnt/models
        served = open_package(str(mounted), config_path=None, cache=tmp_path / "cache")
        assert served.model_path == mounted / TRITON_MODEL.removeprefix("models/")
        assert served.model_path.read_bytes() == (with_modelcar / "models" / "model.onnx").read_bytes()
        assert (mounted / "breast-cancer" / "config.pbtxt").read_text().startswith('name: "breast-cancer"')
    finally:
        os.killpg(sidecar.pid, signal.SIGKILL)
        sidecar.wait(timeout=10)


def test_kserves_init_container_refuses_the_bare_artifact_and_an_empty_models(with_modelcar, base, registry,
                                                                              capsys, tmp_path):  # fmt: skip
    if not can_chroot():
        pytest.skip("running KServe's commands in the unpacked image needs root (chroot)")
    artifact, _ = _push(capsys, registry)
    client = RegistryClient(registry.address)
    bare = tmp_path / "bare" / "rootfs"
    unpack_image(client, artifact, bare)
    assert (bare / TRITON_MODEL).is_file()
    init = _init(bare, artifact)
    assert init.returncode != 0 and "OK" not in init.stdout  # no shell in the artifact: the container cannot start

    layers = [busybox_layer(busybox_binary(tmp_path / "bb")), empty_models_layer()]  # the same shell, no model
    empty = push_image(client, "models/empty", "1", layers)
    rootfs = tmp_path / "empty" / "rootfs"
    unpack_image(client, empty, rootfs)
    assert (rootfs / "models").is_dir()
    init = _init(rootfs, empty)
    assert init.returncode == 1
    assert "NOK ... Prefetched but modelcar is invalid (/models does not exist or is empty)" in init.stdout


def _kserve_download(uri: str, out: Path) -> subprocess.CompletedProcess[str]:
    python = KSERVE_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip("kserve-storage's venv is missing (`make test` creates .venv-kserve-storage)")
    script = "import sys; from kserve_storage import Storage; print(Storage.download(sys.argv[1], sys.argv[2]))"
    return subprocess.run([str(python), "-c", script, uri, str(out)], capture_output=True, text=True, timeout=120,
                          env={"KSERVE_OCI_INSECURE_REGISTRY": "true", "PATH": "/usr/bin:/bin"})  # fmt: skip


def _normalise(uri: str) -> str:
    """KServe's ParseOciScheme (pkg/utils/storage.go): the webhook hands the initializer oci+fetch:// as oci://."""
    _, _, rest = uri.removeprefix("oci+").partition("://")
    return f"oci://{rest}" if uri.startswith("oci+") else uri


@pytest.mark.parametrize("mode", ["fetch", "modelcar"])
def test_kserve_storage_initializer_loads_what_storage_uri_names(with_modelcar, registry, capsys, tmp_path, mode):
    """oci+fetch:// of the artifact, and (KServe reads images too) the modelcar image, land where the server reads."""
    artifact, image = _push(capsys, registry)
    ref = parse_reference(artifact)
    uri = resolve_storage_uri(RegistryClient(registry.address), ref, mode)
    expected = f"oci+fetch://{ref.name}@{ref.digest}" if mode == "fetch" else f"oci://{ref.name}@{image.split('@')[1]}"
    assert uri == expected
    out = tmp_path / "mnt-models"
    proc = _kserve_download(_normalise(uri), out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (out / "bin").exists()  # only models/ is extracted, never the base's rootfs
    served = open_package(str(out), config_path=None, cache=tmp_path / "cache")
    assert served.model_path == out / TRITON_MODEL.removeprefix("models/")


def test_images_are_reproducible_and_inspect_shows_both(with_modelcar, registry, capsys):
    layout = Layout(with_modelcar / ".mlpipex/oci")
    artifact = layout.resolve("breast-cancer:1.1.0")
    image = layout.resolve("breast-cancer:1.1.0-modelcar")
    assert layout.read_json(artifact.digest)["annotations"]["dev.mlpipex.modelcar.digest"] == image.digest
    assert main(["package"]) == 0
    assert layout.resolve("breast-cancer:1.1.0").digest == artifact.digest
    assert layout.resolve("breast-cancer:1.1.0-modelcar").digest == image.digest
    manifest = layout.read_json(image.digest)
    config = layout.read_json(manifest["config"]["digest"])
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"]) == 2
    assert "Cmd" not in config["config"] and "Entrypoint" not in config["config"]  # KServe's args must run as given
    assert config["config"]["Labels"]["dev.mlpipex.model.config"] == layout.read_json(artifact.digest)["config"]["digest"]
    capsys.readouterr()
    artifact_ref, image_ref = _push(capsys, registry)
    assert image_ref.endswith(image.digest) and ":1.1.0-modelcar@" in image_ref
    assert main(["inspect", artifact_ref]) == 0
    out = capsys.readouterr().out
    assert f"modelcar    {image.digest} (image: 2 layers, base {registry.address}/base/busybox@sha256:" in out


def test_storage_uri_is_pure_and_says_what_is_missing():
    from mlpipex.errors import InputError

    ref = parse_reference("ghcr.io/acme/models/fraud:1.4.0@sha256:" + "a" * 64)
    image = "sha256:" + "b" * 64
    assert storage_uri(ref, artifact_digest=ref.digest, modelcar_digest=image, mode="modelcar") \
        == f"oci://ghcr.io/acme/models/fraud@{image}"  # fmt: skip
    assert storage_uri(ref, artifact_digest=ref.digest, modelcar_digest=None, mode="fetch") \
        == f"oci+fetch://ghcr.io/acme/models/fraud@sha256:{'a' * 64}"  # fmt: skip
    with pytest.raises(InputError) as failure:
        storage_uri(ref, artifact_digest=ref.digest, modelcar_digest=None, mode="modelcar")
    assert "package.modelcar.base" in (failure.value.fix or "") and "deploy.storage: fetch" in (failure.value.fix or "")


def test_an_unpinned_base_is_refused_with_the_fix(packaged, capsys):
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["package"] = {"modelcar": {"base": "docker.io/library/busybox:1.36"}}
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    assert main(["package"]) == 2
    err = capsys.readouterr().err
    assert "package.modelcar.base" in err and "Traceback" not in err


def test_a_docker_multi_platform_base_is_resolved_to_the_configured_platform(packaged, registry, capsys, tmp_path):
    """Docker Hub's shape: a manifest list of Docker schema-2 images, with an entrypoint KServe's args would feed."""
    client = RegistryClient(registry.address)
    base = push_docker_index(client, "library/busybox", "1.35", busybox_layer(busybox_binary(tmp_path)),
                             ["amd64", "arm64"])  # fmt: skip
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["package"] = {"modelcar": {"base": base, "platform": "linux/arm64"}}
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    assert main(["package"]) == 0
    layout = Layout(packaged / ".mlpipex/oci")
    image = layout.read_json(layout.resolve("breast-cancer:1.1.0-modelcar").digest)
    image_config = layout.read_json(image["config"]["digest"])
    assert image_config["architecture"] == "arm64" and "Entrypoint" not in image_config["config"]
    assert {layer["mediaType"] for layer in image["layers"]} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert image["annotations"]["org.opencontainers.image.base.digest"] != base.split("@")[1]  # the arm64 manifest

    config["package"]["modelcar"]["platform"] = "linux/s390x"
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert main(["package"]) == 3
    err = capsys.readouterr().err
    assert "has no image for linux/s390x (it offers: linux/amd64, linux/arm64)" in err and "Traceback" not in err


def test_inference_service_takes_the_storage_uri_as_given(quickstart):
    """The manifests builder sends what storage_uri chose, for the candidate and the stable model alike."""
    from mlpipex.config import load_config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.manifests import Rollout, build_inference_service

    config = load_config(str(quickstart / "mlpipex.yaml"), check_files=False)
    new, old = (f"ghcr.io/acme/bc:1.{n}@sha256:{c * 64}" for n, c in ((2, "a"), (1, "c")))
    uris = {artifact: storage_uri(parse_reference(artifact), artifact_digest=artifact.split("@")[1],
                                  modelcar_digest="sha256:" + image * 64, mode="modelcar")
            for artifact, image in ((new, "b"), (old, "d"))}  # fmt: skip
    service = build_inference_service(config, EnvironmentConfig(name="prod", mode="Standard"),
                                      Rollout(new, 10, old), storage_uri=uris.__getitem__)  # fmt: skip
    assert service["spec"]["predictor"]["model"]["storageUri"] == "oci://ghcr.io/acme/bc@sha256:" + "d" * 64
    canary = service["spec"]["canary"][0]["predictor"]["model"]["storageUri"]
    assert canary == "oci://ghcr.io/acme/bc@sha256:" + "b" * 64
    assert service["metadata"]["annotations"]["mlpipex.dev/artifact"] == new  # the state stays the gated artifact


# -- `mlpipex deploy` sends what KServe loads (issue 14, the last mile): the flow locates every model it sends --


def _deploy_to_fake(project: Path, storage: str | None) -> None:
    config = yaml.safe_load((project / "mlpipex.yaml").read_text())
    config["deploy"] = {"environments": [{"name": "production", "context": "fake", "namespace": "ml-prod",
                                          "canary": {"steps": [10, 100]}}]}  # fmt: skip
    if storage:
        config["deploy"]["storage"] = storage
    (project / "mlpipex.yaml").write_text(yaml.safe_dump(config))


def _next_version(project: Path, capsys) -> None:
    config = yaml.safe_load((project / "mlpipex.yaml").read_text())
    config["model"]["version"] = "1.2.0"  # another artifact, so another modelcar image
    (project / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    assert main(["package"]) == 0
    capsys.readouterr()


def _models(obj: dict) -> tuple[str, list[str]]:
    spec = obj["spec"]
    return spec["predictor"]["model"]["storageUri"], [c["predictor"]["model"]["storageUri"] for c in spec.get("canary", [])]


def test_deploy_sends_each_models_modelcar_image_across_a_canary_step(with_modelcar, registry, capsys, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    """deploy.storage: modelcar (the default): the stable and the new model each load from their own image,
    ``oci://REPO@<image digest>``, read from the real registry; the fake API server admits them with KServe's code."""
    from tests.kserve.cluster_fake.fake_apiserver import WEIGHTING, FakeKubernetes

    first, first_image = _push(capsys, registry)
    _next_version(with_modelcar, capsys)
    second, second_image = _push(capsys, registry)
    assert first.split("@")[1] != second.split("@")[1] and first_image != second_image
    repo = f"{registry.address}/models/bc"
    _deploy_to_fake(with_modelcar, None)
    with FakeKubernetes(kserve=WEIGHTING) as fake:  # a KServe that splits Standard-mode canaries
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
        c = ["--env", "production", "--timeout", "5"]
        assert main(["deploy", *c, "--artifact", first]) == 0
        stored = fake.objects[("ml-prod", "breast-cancer")]
        assert _models(stored) == (f"oci://{repo}@{first_image.split('@')[1]}", [])
        capsys.readouterr()
        assert main(["deploy", "--env", "production", "--artifact", second, "--stable-artifact", first, "--dry-run"]) == 0
        printed = yaml.safe_load(capsys.readouterr().out)
        assert main(["deploy", *c, "--artifact", second]) == 0
        stored = fake.objects[("ml-prod", "breast-cancer")]
        assert _models(stored) == (f"oci://{repo}@{first_image.split('@')[1]}", [f"oci://{repo}@{second_image.split('@')[1]}"])
        assert _models(printed) == _models(stored)  # the dry run printed the models deploy sent
        notes = stored["metadata"]["annotations"]
        assert notes["mlpipex.dev/artifact"] == second and notes["mlpipex.dev/stable-artifact"] == first  # state: artifacts
        assert main(["promote", *c]) == 0
        assert _models(fake.objects[("ml-prod", "breast-cancer")]) == (f"oci://{repo}@{second_image.split('@')[1]}", [])


def test_deploy_in_fetch_mode_sends_the_artifact_digest(packaged, registry, capsys, tmp_path, monkeypatch):
    """deploy.storage: fetch: ``oci+fetch://REPO@<artifact digest>`` — the package needs no modelcar image."""
    from tests.kserve.cluster_fake.fake_apiserver import FakeKubernetes

    artifact, _ = _push_plain(capsys, registry)
    _deploy_to_fake(packaged, "fetch")
    with FakeKubernetes() as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
        assert main(["deploy", "--env", "production", "--timeout", "5", "--artifact", artifact]) == 0
        ref = parse_reference(artifact)
        assert _models(fake.objects[("ml-prod", "breast-cancer")]) == (f"oci+fetch://{ref.name}@{ref.digest}", [])


def _push_plain(capsys, registry) -> tuple[str, str]:
    assert main(["push", "--to", f"{registry.address}/models/bc"]) == 0
    captured = capsys.readouterr()
    return captured.out.strip(), captured.err


def test_deploy_of_a_package_without_a_modelcar_image_is_exit_2_with_the_fix(packaged, registry, capsys, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    from tests.kserve.cluster_fake.fake_apiserver import FakeKubernetes

    artifact, _ = _push_plain(capsys, registry)
    _deploy_to_fake(packaged, "modelcar")
    with FakeKubernetes() as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
        assert main(["deploy", "--env", "production", "--timeout", "5", "--artifact", artifact]) == 2
        err = capsys.readouterr().err
        assert "has no modelcar image, which deploy.storage `modelcar` needs" in err and "Traceback" not in err
        assert "set package.modelcar.base" in err and "deploy.storage: fetch" in err
        assert ("ml-prod", "breast-cancer") not in fake.objects
        assert main(["deploy", "--env", "production", "--artifact", artifact, "--dry-run"]) == 2
