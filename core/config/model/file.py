"""The whole file: ``mlpipex.yaml``'s top level, one field per section."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr

from mlpipex.config.model._base import _Strict
from mlpipex.config.model.chatops import ChatOpsConfig
from mlpipex.config.model.data import DataConfig
from mlpipex.config.model.deploy import DeployConfig
from mlpipex.config.model.gates import BaselineConfig, GatesConfig
from mlpipex.config.model.model import ModelConfig
from mlpipex.config.model.monitoring import MonitoringConfig
from mlpipex.config.model.package import PackageConfig
from mlpipex.config.model.retraining import RetrainingConfig

__all__ = ["API_VERSION", "Config"]

API_VERSION = "mlpipex/v1"




class Config(_Strict):
    """mlpipex.yaml."""

    api_version: Literal["mlpipex/v1"] = Field(alias="apiVersion", description="Schema version.")
    model: ModelConfig
    data: DataConfig
    gates: GatesConfig = Field(default_factory=GatesConfig)
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    package: PackageConfig = Field(default_factory=PackageConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    retraining: RetrainingConfig = Field(default_factory=RetrainingConfig)
    chatops: ChatOpsConfig = Field(default_factory=ChatOpsConfig)

    _source: Path = PrivateAttr(default_factory=lambda: Path("mlpipex.yaml"))
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    def line_of(self, *path: str | int) -> int | None:
        """The line a key sits on in the file (for annotations), or its nearest parent's."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self._lines:
                return self._lines[path[:depth]]
        return None

    @property
    def source(self) -> Path:
        """The file this configuration was read from."""
        return self._source

    def resolve(self, relative: str) -> Path:
        """A path from the file, made absolute against the file's directory."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self._source.parent / path).resolve()

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        title="mlpipex.yaml",
        json_schema_extra={"$id": "https://mlpipex.dev/schema/mlpipex.schema.json"},
    )
