"""Where a package to serve comes from: a pulled directory, the local store, a registry, or a config."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.errors import InputError

__all__ = ["ServablePackage", "open_package"]


@dataclass(frozen=True)
class ServablePackage:
    name: str
    model_path: Path
    config: dict[str, Any]


def _from_dir(directory: Path) -> ServablePackage:
    """A pulled package (config.json + models/) or KServe's mount of its models/ subtree."""
    mounted = directory / "mlpipex-config.json"
    if not mounted.exists():  # beside a flat layout (sklearn, xgboost, lightgbm) it sits one level down
        mounted = directory / "mlpipex" / "mlpipex-config.json"
    path = directory / "config.json" if (directory / "config.json").exists() else mounted
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{directory} has neither config.json nor mlpipex-config.json",
                         fix="give a directory made by `mlpipex pull`, or KServe's /mnt/models of an mlpipex package") from None  # fmt: skip
    relative = config["model"]["path"]
    model = directory / (relative if path.name == "config.json" else relative.removeprefix("models/"))
    if not model.exists():  # a file, or a SavedModel's directory
        raise InputError(f"{directory} lacks {config['model']['path']}")
    return ServablePackage(config["name"], model, config)


def open_package(source: str | None, *, config_path: str | None, cache: Path) -> ServablePackage:
    """``DIR`` (pulled), ``REF@DIGEST`` (pulled into ``cache``), ``NAME:VERSION`` (local store), or ``-c`` config."""
    if source and Path(source).is_dir():
        return _from_dir(Path(source))
    if source and "/" in source:
        from mlpipex.oci import RegistryClient, credentials_for, parse_reference, pull

        ref = parse_reference(source)
        if not ref.digest:
            raise InputError(f"{source} is not pinned by digest", fix="serve REF@sha256:… as printed by `mlpipex push`")
        target = cache / ref.digest.replace(":", "-")
        if not (target / "config.json").exists():
            pull(RegistryClient(ref.registry, credentials=credentials_for(ref.registry)), ref, target)
        return _from_dir(target)
    from mlpipex.config import load_config
    from mlpipex.oci import Layout

    config = load_config(config_path, check_files=False)
    layout = Layout(Path(".mlpipex/oci"))
    ref_name = source or f"{config.model.name}:{config.model.version}"
    descriptor = layout.resolve(ref_name)
    manifest = layout.read_json(descriptor.digest)
    target = cache / descriptor.digest.replace(":", "-")
    if not (target / "config.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        for layer in manifest["layers"]:
            with tarfile.open(layout.blob_path(layer["digest"])) as tar:
                tar.extractall(target, filter="data")
        (target / "config.json").write_bytes(layout.read_bytes(manifest["config"]["digest"]))
    return _from_dir(target)
