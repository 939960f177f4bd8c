"""The referrers-API path (against a stand-in), registry quota errors, and reproducible packages."""

from __future__ import annotations

import json
import os
import tarfile

import pytest

from mlpipex.cli import main
from mlpipex.oci import Layout, RegistryClient, inspect_remote, parse_reference

from .standin import StandInRegistry


def test_referrers_api_is_used_when_the_registry_has_it(packaged, capsys):
    with StandInRegistry() as registry:
        assert main(["push", "--to", f"{registry.address}/m/bc"]) == 0
        captured = capsys.readouterr()
        assert "gate report attached (referrers API)" in captured.err
        assert not [path for method, path in registry.requests if method == "PUT" and "/manifests/sha256-" in path]
        ref = parse_reference(captured.out.strip())
        inspection = inspect_remote(RegistryClient(registry.address), ref)
        assert [r["artifactType"] for r in inspection.referrers] == ["application/vnd.mlpipex.gate-report.v1"]
        assert ("GET", f"/v2/m/bc/referrers/{ref.digest}") in registry.requests


def test_quota_error_is_clear_and_exits_3(packaged, capsys):
    with StandInRegistry() as registry:
        registry.quota_exceeded = True
        assert main(["push", "--to", f"{registry.address}/m/bc"]) == 3
        err = capsys.readouterr().err
        assert "storage quota" in err and "Traceback" not in err
        assert not registry.tags  # nothing tagged


def test_package_is_reproducible(packaged, capsys):
    layout = Layout(packaged / ".mlpipex/oci")
    first = layout.resolve("breast-cancer:1.1.0").digest
    os.utime(packaged / "models" / "model.onnx", (1, 1))  # file times must not matter
    assert main(["package"]) == 0
    assert layout.resolve("breast-cancer:1.1.0").digest == first
    manifest = layout.read_json(first)
    layer = layout.blob_path(manifest["layers"][0]["digest"])
    assert layer.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip header carries no timestamp
    with tarfile.open(layer) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["models", "models/breast-cancer", "models/breast-cancer/1",
                                         "models/breast-cancer/1/model.onnx", "models/breast-cancer/config.pbtxt",
                                         "models/mlpipex-config.json"]  # fmt: skip
    assert {(m.uid, m.gid, m.uname, m.mtime) for m in members} == {(0, 0, "", 0)}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    # Every blob of the local store is readable like any other build output (mkstemp alone makes 0600).
    assert {path.stat().st_mode & 0o777 for path in layout.blobs.iterdir()} == {0o644}


def test_package_needs_a_passing_report(packaged, capsys):
    report = packaged / ".mlpipex/report/report.json"
    data = json.loads(report.read_text())
    data["verdict"] = "fail"
    report.write_text(json.dumps(data))
    assert main(["package"]) == 2
    assert "a failed model is not packaged" in capsys.readouterr().err
    report.unlink()
    assert main(["package"]) == 2
    assert "run `mlpipex gate` first" in capsys.readouterr().err
    assert main(["package", "--allow-ungated"]) == 0


def test_report_for_another_model_is_refused(packaged, capsys):
    (packaged / "models" / "model.onnx").write_bytes((packaged / "models" / "baseline.onnx").read_bytes())
    assert main(["package"]) == 2
    assert "is for another model file" in capsys.readouterr().err


def test_local_inspect_and_unknown_name(packaged, capsys):
    assert main(["inspect", "breast-cancer:1.1.0"]) == 0
    out = capsys.readouterr().out
    assert "profile     30 features from 398 rows (training.csv)" in out
    assert main(["inspect", "breast-cancer:9.9.9"]) == 2
    assert "packages here: breast-cancer:1.1.0" in capsys.readouterr().err


def test_digest_is_independent_of_the_clone_and_provenance_rides_on_the_report(packaged, capsys, monkeypatch):
    """Issue 15 item 10: remote, commit and time change nothing in the artifact; the report referrer records them."""
    import subprocess

    layout = Layout(packaged / ".mlpipex/oci")
    outside_git = layout.resolve("breast-cancer:1.1.0").digest  # packaged before `git init`
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    env = {"GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"}  # fmt: skip
    for args in (["init", "-q"], ["remote", "add", "origin", "https://user:token@git.example.com/acme/bc.git"],
                 ["add", "-A"], ["commit", "-qm", "model"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=packaged, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=packaged, capture_output=True, text=True).stdout.strip()
    assert main(["package"]) == 0
    digest = layout.resolve("breast-cancer:1.1.0").digest
    assert digest == outside_git
    annotations = layout.read_json(digest)["annotations"]
    assert annotations == {"org.opencontainers.image.title": "breast-cancer", "org.opencontainers.image.version": "1.1.0"}
    # Another clone (another remote URL, a later commit of the same files): the same digest.
    subprocess.run(["git", "remote", "set-url", "origin", "git@github.com:fork/bc.git"], cwd=packaged, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "later"], cwd=packaged, check=True,
                   env={**env, "GIT_COMMITTER_DATE": "2026-02-02T00:00:00Z"})  # fmt: skip
    assert main(["package"]) == 0
    assert layout.resolve("breast-cancer:1.1.0").digest == outside_git
    subprocess.run(["git", "reset", "-q", "--hard", head], cwd=packaged, check=True)
    subprocess.run(["git", "remote", "set-url", "origin", "https://user:token@git.example.com/acme/bc.git"],
                   cwd=packaged, check=True)  # fmt: skip
    assert main(["package"]) == 0
    (report,) = layout.referrers(digest)
    provenance = layout.read_json(report.digest)["annotations"]
    assert provenance["org.opencontainers.image.revision"] == head
    assert provenance["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    assert provenance["org.opencontainers.image.source"] == "https://git.example.com/acme/bc.git"  # no token


@pytest.mark.parametrize(("remote", "source"), [
    ("git@github.com:acme/bc.git", "https://github.com/acme/bc.git"),
    ("ssh://git@gitlab.example.com:2222/acme/bc.git", "https://gitlab.example.com/acme/bc.git"),
    ("https://user:token@git.example.com/acme/bc.git", "https://git.example.com/acme/bc.git"),
    ("https://github.com/acme/bc", "https://github.com/acme/bc"),
    ("/srv/git/bc.git", "/srv/git/bc.git"),
])  # fmt: skip
def test_source_annotation_from_any_remote(tmp_path, monkeypatch, remote, source):
    import subprocess

    from mlpipex.oci._package import _source

    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "CI_PROJECT_URL"):
        monkeypatch.delenv(name, raising=False)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "remote", "add", "origin", remote], cwd=tmp_path, check=True)
    assert _source(tmp_path) == source


def test_requirements_credentials_never_reach_the_package(packaged, monkeypatch):
    import yaml

    (packaged / "requirements.lock").write_text(
        "--extra-index-url https://deploy:s3cr3t-t0ken@pypi.example.com/simple\nonnxruntime==1.20.1\n")
    config = yaml.safe_load((packaged / "mlpipex.yaml").read_text())
    config["package"] = {"requirements": "requirements.lock"}
    (packaged / "mlpipex.yaml").write_text(yaml.safe_dump(config))
    assert main(["package"]) == 0
    layout = Layout(packaged / ".mlpipex/oci")
    manifest = layout.read_json(layout.resolve("breast-cancer:1.1.0").digest)
    env = layout.read_json(manifest["config"]["digest"])["environment"]["requirements"]
    assert "s3cr3t" not in env["content"]
    assert env["content"].startswith("--extra-index-url https://***@pypi.example.com/simple\nonnxruntime==1.20.1")


def test_a_failed_first_package_leaves_no_store_behind(packaged, capsys):
    """Issue 15 item 11: a `package` that fails leaves no half-written local store."""
    (packaged / "models" / "model.onnx").write_bytes((packaged / "models" / "baseline.onnx").read_bytes())
    assert main(["package", "--layout", "fresh-oci"]) == 2
    assert "is for another model file" in capsys.readouterr().err
    assert not (packaged / "fresh-oci").exists()
    assert main(["package"]) == 2  # an existing store is kept as it was
    assert Layout(packaged / ".mlpipex/oci").resolve("breast-cancer:1.1.0")
