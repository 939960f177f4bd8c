"""The schema of mlpipex.yaml, as pydantic models: one module per section.

Every model forbids unknown keys, so a typo is an error, not a silently ignored
setting. Field descriptions become the JSON Schema's descriptions (`mlpipex
schema`), which editors show on hover. Semantic checks that need several fields
(metric names against the task, files on disk) live in ``mlpipex.config._checks``.
Sections: ``model``, ``data``, ``gates`` (with ``baseline``), ``package``, ``deploy``,
``monitoring``, ``retraining``, ``chatops``; ``file`` is the top level; ``_base``
holds what they share. Import from here: the section modules are an inner layout.
"""

from __future__ import annotations

from mlpipex.config.model.chatops import BranchName, ChatOpsCommand, ChatOpsConfig, Permission
from mlpipex.config.model.data import DataConfig
from mlpipex.config.model.deploy import (
    CanaryConfig,
    CanaryMetric,
    DeployConfig,
    EnvironmentConfig,
    GpuConfig,
    LoggerConfig,
    MonitorSourceConfig,
    PrometheusConfig,
    PromotionRules,
    ReplicasConfig,
    TrafficConfig,
    TrafficGatewayRef,
)
from mlpipex.config.model.file import API_VERSION, Config
from mlpipex.config.model.gates import (
    BaselineConfig,
    CompareConfig,
    CompareLatencyConfig,
    GatesConfig,
    LatencyConfig,
    LatencySla,
    RegressionLimit,
    SchemaGateConfig,
    ServingConfig,
    SkewConfig,
    SmokeConfig,
    Thresholds,
    UnitConfig,
)
from mlpipex.config.model.model import (
    DTYPES,
    ModelConfig,
    ModelFormatName,
    OutputRoles,
    SignatureConfig,
    TensorSpec,
)
from mlpipex.config.model.monitoring import (
    MonitorAlertsConfig,
    MonitoringConfig,
    MonitorQualityConfig,
)
from mlpipex.config.model.package import ModelcarConfig, PackageConfig
from mlpipex.config.model.retraining import RetrainingConfig

__all__ = [
    "API_VERSION",
    "DTYPES",
    "BaselineConfig",
    "BranchName",
    "CanaryConfig",
    "CanaryMetric",
    "ChatOpsCommand",
    "ChatOpsConfig",
    "CompareConfig",
    "CompareLatencyConfig",
    "Config",
    "DataConfig",
    "DeployConfig",
    "EnvironmentConfig",
    "GatesConfig",
    "GpuConfig",
    "LatencyConfig",
    "LatencySla",
    "LoggerConfig",
    "ModelConfig",
    "ModelFormatName",
    "ModelcarConfig",
    "MonitorAlertsConfig",
    "MonitorQualityConfig",
    "MonitorSourceConfig",
    "MonitoringConfig",
    "OutputRoles",
    "PackageConfig",
    "Permission",
    "PrometheusConfig",
    "PromotionRules",
    "RegressionLimit",
    "ReplicasConfig",
    "RetrainingConfig",
    "SchemaGateConfig",
    "ServingConfig",
    "SignatureConfig",
    "SkewConfig",
    "SmokeConfig",
    "TensorSpec",
    "Thresholds",
    "TrafficConfig",
    "TrafficGatewayRef",
    "UnitConfig",
]
