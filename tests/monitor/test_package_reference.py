"""The monitor reads the reference from the model package: the local store, or a registry by digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.cli import main
from mlpipex.monitor import load_reference, settings_from_configs


@pytest.fixture
def packaged(quickstart: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(quickstart)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    assert main(["gate", "--quiet", "--only", "schema,smoke,skew"]) == 0
    assert main(["package"]) == 0
    return quickstart


def test_the_local_package_is_the_default_reference(packaged: Path) -> None:
    settings = settings_from_configs(["mlpipex.yaml"], state_dir=packaged / "state")
    model = settings.models["breast-cancer"]
    assert model.profile is not None and model.profile["format"] == "mlpipex.profile/v1"
    assert len(model.features) == 30 and model.roles == {"label": "label", "probabilities": "probabilities",
                                                         "value": None}  # fmt: skip
    assert model.baseline["accuracy"] > 0.95  # the smoke gate's metrics travel in the package


def test_a_reference_pulled_from_a_registry_by_digest(packaged: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # Debian's docker-registry on loopback (the test skips without it)
    from oci.conftest import start_registry

    registry = start_registry(tmp_path / "registry")
    try:
        capsys.readouterr()
        assert main(["push", "--to", f"{registry.address}/models/bc"]) == 0
        ref = capsys.readouterr().out.strip()
        assert "@sha256:" in ref
        blob = load_reference(ref)
        assert blob["name"] == "breast-cancer" and blob["profile"]["rows"] > 0 and len(blob["features"]) == 30
        settings = settings_from_configs([], state_dir=tmp_path / "state", references={"bc": ref})
        assert settings.models["bc"].profile == blob["profile"]
    finally:
        registry.stop()
