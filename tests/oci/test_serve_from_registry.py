"""`mlpipex serve REF@DIGEST` pulls the package into its cache once, then serves from there."""

from __future__ import annotations

import pytest

from mlpipex.cli import main
from mlpipex.errors import InputError
from mlpipex.serving import Validator, open_package


def test_open_package_from_a_registry_reference(packaged, registry, tmp_path, capsys):
    assert main(["push", "--to", f"{registry.address}/m/bc"]) == 0
    ref = capsys.readouterr().out.strip()
    cache = tmp_path / "cache"
    first = open_package(ref, config_path=None, cache=cache)
    assert first.model_path.is_file() and first.name == "breast-cancer"
    assert len(Validator.from_package(first.config).features) == 30
    assert open_package(ref, config_path=None, cache=cache).model_path == first.model_path
    with pytest.raises(InputError, match="not pinned by digest"):
        open_package(ref.split("@")[0], config_path=None, cache=cache)
