"""Packages against a real registry: push, pull, inspect, tag, evidence, and every way it fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlpipex.cli import main
from mlpipex.errors import ExternalError
from mlpipex.oci import Layout, RegistryClient, parse_reference, push

from .conftest import PASSWORD, TRITON_MODEL, USER, start_registry


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out.strip(), captured.err


def blob_file(registry, digest: str) -> Path:
    hexdigest = digest.split(":")[1]
    return registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def test_push_pull_inspect_round_trip(packaged, registry, capsys, tmp_path):
    code, out, err = cli(capsys, "push", "--to", f"{registry.address}/models/breast-cancer",
                         "--output-file", str(tmp_path / "ref.txt"))  # fmt: skip
    assert code == 0, err
    ref = parse_reference(out)
    assert ref.tag == "1.1.0" and ref.digest and (tmp_path / "ref.txt").read_text().strip() == out
    assert "gate report attached (referrers tag schema)" in err  # distribution 2.8 has no referrers API

    code, out, err = cli(capsys, "pull", str(ref), "-o", str(tmp_path / "pulled"))
    assert code == 0, err
    pulled = tmp_path / "pulled"
    assert (pulled / TRITON_MODEL).read_bytes() == (packaged / "models" / "model.onnx").read_bytes()
    config = json.loads((pulled / "config.json").read_text())
    assert config["name"] == "breast-cancer" and config["gates"]["verdict"] == "pass"
    assert len(config["profile"]["features"]) == 30 and config["profile"]["source"] == "training.csv"

    code, out, _ = cli(capsys, "inspect", str(ref))
    assert code == 0
    assert "evidence    application/vnd.mlpipex.gate-report.v1" in out
    assert "version     1.1.0" in out and "created     2025-11-24T16:00:00Z" in out
    code, out, _ = cli(capsys, "inspect", f"{registry.address}/models/breast-cancer:1.1.0", "--json")
    data = json.loads(out)
    assert data["digest"] == ref.digest and data["manifest"]["artifactType"] == "application/vnd.mlpipex.model.v1"
    report = data["referrers"][0]
    assert report["artifactType"] == "application/vnd.mlpipex.gate-report.v1"


def test_same_content_same_digest_and_repush_is_a_no_op(packaged, registry, capsys):
    code, first, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    assert main(["package"]) == 0  # rebuild: must be byte-identical
    capsys.readouterr()
    code, second, err = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    assert code == 0 and first == second
    assert "pushed 0 blob(s), 2 already there" in err


def test_version_tags_are_immutable(packaged, registry, capsys):
    assert cli(capsys, "push", "--to", f"{registry.address}/m/bc")[0] == 0
    (packaged / "models" / "model.onnx").write_bytes((packaged / "models" / "baseline.onnx").read_bytes())
    assert main(["package", "--allow-ungated", "--report", "none.json"]) == 0
    code, _, err = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    assert code == 2 and "version tags are immutable" in err and "--force" in err
    code, _out, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc", "--force")
    assert code == 0


def test_promotion_tag_moves_by_digest(packaged, registry, capsys):
    _, ref, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    digest = parse_reference(ref).digest
    code, out, _ = cli(capsys, "tag", f"{registry.address}/m/bc@{digest}", "production")
    assert code == 0 and out == f"{registry.address}/m/bc:production@{digest}"
    client = RegistryClient(registry.address)
    assert client.resolve(parse_reference(f"{registry.address}/m/bc:production")) == digest
    code, _, _err = cli(capsys, "tag", f"{registry.address}/m/bc:production", "1.0.0")
    assert code == 0  # a new version tag may be created
    assert set(client.tags("m/bc")) >= {"1.1.0", "production", "1.0.0"}


def test_tampered_blob_is_detected(packaged, registry, capsys, tmp_path):
    _, ref, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    manifest = json.loads((packaged / ".mlpipex/oci/blobs/sha256" / parse_reference(ref).digest[7:]).read_bytes())
    layer = blob_file(registry, manifest["layers"][0]["digest"])
    data = bytearray(layer.read_bytes())
    data[100] ^= 0xFF
    layer.write_bytes(bytes(data))
    code, _, err = cli(capsys, "pull", ref, "-o", str(tmp_path / "out"))
    assert code == 3 and "does not match" in err
    assert not (tmp_path / "out" / TRITON_MODEL).exists()


def test_pull_hashes_in_a_second_thread_and_leaves_none_behind(packaged, registry, capsys, tmp_path):
    # the sha256 of a streamed layer runs beside the tar writes (hashlib releases the GIL)
    import threading

    from mlpipex.oci import _transfer

    _, ref, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    seen: list[str] = []
    extract = _transfer._extract_stream

    def watching(reader, dest, mode):
        seen.extend(t.name for t in threading.enumerate())
        extract(reader, dest, mode)

    _transfer._extract_stream = watching
    try:
        code, _, err = cli(capsys, "pull", ref, "-o", str(tmp_path / "out"))
    finally:
        _transfer._extract_stream = extract
    assert code == 0, err
    assert "mlpipex-sha256" in seen
    assert not [t for t in threading.enumerate() if t.name == "mlpipex-sha256"]
    # a corrupted layer is still caught, and its failed attempts leave no hashing thread either
    manifest = json.loads((packaged / ".mlpipex/oci/blobs/sha256" / parse_reference(ref).digest[7:]).read_bytes())
    layer = blob_file(registry, manifest["layers"][0]["digest"])
    data = bytearray(layer.read_bytes())
    data[-600] ^= 0xFF
    layer.write_bytes(bytes(data))
    code, _, err = cli(capsys, "pull", ref, "-o", str(tmp_path / "bad"))
    assert code == 3 and "does not match" in err
    assert not [t for t in threading.enumerate() if t.name == "mlpipex-sha256"]


def test_truncated_download_is_detected(packaged, registry, capsys, tmp_path):
    _, ref, _ = cli(capsys, "push", "--to", f"{registry.address}/m/bc")
    manifest = json.loads((packaged / ".mlpipex/oci/blobs/sha256" / parse_reference(ref).digest[7:]).read_bytes())
    layer = blob_file(registry, manifest["layers"][0]["digest"])
    layer.write_bytes(layer.read_bytes()[:300])
    code, _, err = cli(capsys, "pull", ref, "-o", str(tmp_path / "out"))
    assert code == 3 and "truncated" in err


def test_registry_down_exits_3_and_tags_nothing(packaged, tmp_path, capsys):
    root = tmp_path / "reg"
    registry = start_registry(root)
    target = parse_reference(f"{registry.address}/m/bc")
    killed = []

    def kill_midway(label: str, done: int, total: int) -> None:
        if not killed:
            registry.stop()
            killed.append(label)

    client = RegistryClient(registry.address, progress=kill_midway, retries=1, timeout=5)
    with pytest.raises(ExternalError, match="cannot reach registry"):
        push(Layout(packaged / ".mlpipex/oci"), "breast-cancer:1.1.0", target, client)
    assert killed
    code, _, err = cli(capsys, "push", "--to", str(target))
    assert code == 3 and "cannot reach registry" in err and "Traceback" not in err
    port = int(registry.address.rsplit(":", 1)[1])
    registry = start_registry(root, port=port)  # same storage: whatever was half-pushed is there
    try:
        assert RegistryClient(registry.address).resolve(target.with_tag("1.1.0")) is None  # nothing tagged
        code, out, err = cli(capsys, "push", "--to", str(target))
        assert code == 0 and "@sha256:" in out
    finally:
        registry.stop()


def test_unknown_repository_and_tag(registry, capsys, tmp_path):
    code, _, err = cli(capsys, "pull", f"{registry.address}/nope/model:1.0", "-o", str(tmp_path))
    assert code == 3 and "not found" in err


def test_basic_auth(packaged, auth_registry, capsys, monkeypatch):
    target = f"{auth_registry.address}/m/bc"
    monkeypatch.delenv("MLPIPEX_REGISTRY_USERNAME", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(packaged / "no-docker-config"))
    code, _, err = cli(capsys, "push", "--to", target)
    assert code == 3 and "unauthorised" in err and "MLPIPEX_REGISTRY_USERNAME" in err
    assert PASSWORD not in err
    monkeypatch.setenv("MLPIPEX_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", "wrong")
    code, _, err = cli(capsys, "push", "--to", target)
    assert code == 3 and "wrong" not in err
    monkeypatch.setenv("MLPIPEX_REGISTRY_PASSWORD", PASSWORD)
    code, out, err = cli(capsys, "push", "--to", target)
    assert code == 0, err
    assert PASSWORD not in out + err


def test_docker_config_credentials(packaged, auth_registry, capsys, monkeypatch, tmp_path):
    import base64

    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {auth_registry.address: {"auth": token}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.delenv("MLPIPEX_REGISTRY_USERNAME", raising=False)
    code, _, err = cli(capsys, "push", "--to", f"{auth_registry.address}/m/bc")
    assert code == 0, err
    # Credentials read from config.json (no variable names them) are secrets too: any output
    # that passes through the redactor loses them, in either form.
    from mlpipex.secrets import redact

    leaked = redact(f"user {USER} auth {token} password {PASSWORD}")
    assert token not in leaked and PASSWORD not in leaked, leaked


def test_tls_with_custom_ca(packaged, tls_registry, capsys):
    target = f"{tls_registry.address}/m/bc"
    code, _, err = cli(capsys, "push", "--to", target, "--ca-file", tls_registry.ca_file)
    assert code == 0, err
    code, out, err = cli(capsys, "inspect", f"{target}:1.1.0", "--ca-file", tls_registry.ca_file)
    assert code == 0 and "breast-cancer@1.1.0" in out


def test_insecure_plain_http_is_explicit(registry):
    client = RegistryClient(registry.address, insecure=True)
    client.ping()
    assert client._url("/v2/").startswith("http://")


KSERVE_VENV = Path(__file__).resolve().parents[2] / ".venv-kserve-storage"


def test_kserve_storage_loads_our_package(packaged, registry, capsys, tmp_path):
    """KServe's own storage initializer code (PyPI kserve-storage) pulls the package by digest."""
    python = KSERVE_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip("kserve-storage's venv is missing (`make test` creates .venv-kserve-storage)")
    _, ref, _ = cli(capsys, "push", "--to", f"{registry.address}/models/bc")
    out = tmp_path / "kserve-out"
    script = "import sys; from kserve_storage import Storage; print(Storage.download(sys.argv[1], sys.argv[2]))"
    proc = subprocess.run([str(python), "-c", script, f"oci://{ref}", str(out)], capture_output=True, text=True,
                          env={"KSERVE_OCI_INSECURE_REGISTRY": "true", "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / TRITON_MODEL.removeprefix("models/")).read_bytes() == (packaged / "models" / "model.onnx").read_bytes()
    # What the serving pod sees (/mnt/models) is enough for `mlpipex serve` to validate requests.
    from mlpipex.serving import Validator, open_package

    served = open_package(str(out), config_path=None, cache=tmp_path / "cache")
    assert served.model_path == out / TRITON_MODEL.removeprefix("models/")
    assert len(Validator.from_package(served.config).features) == 30


def test_tls_without_the_ca_says_so(packaged, tls_registry, capsys):
    """A loopback TLS registry with an untrusted certificate: a TLS error and its fix, not a plain-HTTP 400."""
    with pytest.raises(ExternalError, match="TLS with") as failure:
        RegistryClient(tls_registry.address, retries=0).ping()
    assert "--ca-file" in (failure.value.fix or "")
    code, _, err = cli(capsys, "push", "--to", f"{tls_registry.address}/m/bc")
    assert code == 3 and "TLS with" in err and "--ca-file" in err
