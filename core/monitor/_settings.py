"""The monitor's settings, from mlpipex.yaml files and the command line.

Each config names one model (InferenceService ``deploy.name`` or ``model.name``)
and its reference: the package's config blob carries the reference profile, the
feature order, the output roles and the offline metrics, so the monitor reads it
from wherever the package is (local store, a pulled directory, a registry) through
``mlpipex.oci``; a bare profile JSON file works too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipex.errors import ConfigError, InputError
from mlpipex.monitor._auth import MonitorAuth
from mlpipex.monitor._ingest import Limits, ModelInfo
from mlpipex.stats.profile import PROFILE_FORMAT

__all__ = ["DeploymentHistory", "ModelAlerts", "MonitorSettings", "cluster_history", "load_reference", "model_info",
           "settings_from_configs"]

# (namespace, InferenceService) -> the rollout history recorded on the object (mlpipex.dev/history), newest last.
DeploymentHistory = Callable[[str, str], list[dict[str, Any]]]

@dataclass(frozen=True)
class ModelAlerts:
    url: str | None = None
    token_env: str = "MLPIPEX_ALERT_TOKEN"
    fire_after: int = 2
    resolve_after: int = 2


@dataclass(frozen=True)
class MonitorSettings:
    state_dir: Path = Path(".mlpipex/monitor")
    models: Mapping[str, ModelInfo] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    schedule_seconds: float = 900.0
    alerts: ModelAlerts = field(default_factory=ModelAlerts)
    drift: Mapping[str, Any] = field(default_factory=dict)  # the `monitoring:` section, for DriftSettings
    quality_max_drop: float = 0.05
    quality_alpha: float = 0.01
    quality_min_labels: int = 100
    tick_seconds: float = 1.0  # how often due alerts are retried and the schedule looked at
    deployments: DeploymentHistory | None = None  # from the cluster, when one is configured
    auth: MonitorAuth = field(default_factory=MonitorAuth)  # no tokens: open (the CLI allows it on loopback only)
    journal_sync: str = "os"  # when an accepted event counts as durable: see mlpipex.monitor._journal
    checkpoint_bytes: int = 64 << 20  # checkpoint early once the journal holds this much since the last one


def load_reference(source: str, *, base: Path | None = None) -> dict[str, Any]:
    """A package config blob (``{"profile": …, "features": …}``) from a file, directory or OCI reference."""
    path = Path(source).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.is_dir():
        for name in ("config.json", "mlpipex-config.json", "mlpipex/mlpipex-config.json"):  # the last: flat layouts
            if (path / name).is_file():
                return _blob_from_file(path / name)
        raise InputError(f"{path} holds neither config.json nor mlpipex-config.json",
                         fix="give a directory made by `mlpipex pull`, a profile JSON file, or REF@sha256:…")  # fmt: skip
    if path.is_file():
        return _blob_from_file(path)
    if "/" in source and ("@" in source or ":" in source.rsplit("/", 1)[-1]):
        from mlpipex.oci import RegistryClient, credentials_for, inspect_remote, parse_reference

        ref = parse_reference(source)
        return dict(inspect_remote(RegistryClient(ref.registry, credentials=credentials_for(ref.registry)), ref).config)
    raise InputError(f"reference {source!r} is neither a file, a directory nor an OCI reference",
                     fix="set monitoring.reference to a profile JSON, a pulled package, or REGISTRY/REPO@sha256:…")  # fmt: skip


def _blob_from_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the reference {path}: {exc}") from None
    if isinstance(data, dict) and data.get("format") == PROFILE_FORMAT:
        return {"profile": data, "features": list(data.get("features") or {})}
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        return data
    raise InputError(f"{path} is neither a reference profile ({PROFILE_FORMAT}) nor a package config",
                     fix="use the config.json of a pulled package or a profile written by mlpipex")  # fmt: skip


def _local_package(name: str, version: str) -> dict[str, Any] | None:
    from mlpipex.oci import Layout, inspect_local

    layout = Layout(Path(".mlpipex/oci"))
    try:
        return dict(inspect_local(layout, f"{name}:{version}").config)
    except Exception:  # no local store, or no such package: the model is monitored without drift
        return None


def model_info(service: str, blob: Mapping[str, Any] | None, **extra: Any) -> ModelInfo:
    blob = blob or {}
    metrics = {k: float(v) for k, v in (blob.get("metrics") or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}  # fmt: skip
    return ModelInfo(service=service, features=tuple(blob.get("features") or ()),
                     roles=dict(blob.get("outputs") or {}), task=str(blob.get("task") or "classification"),
                     profile=blob.get("profile"), baseline=metrics, **extra)  # fmt: skip


def cluster_history(context: str | None, kubeconfig: str | None) -> DeploymentHistory:
    """The rollout history on each InferenceService, read through mlpipex.kserve (the one Kubernetes client)."""
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.rollout import state_of

    cluster = Cluster.connect(context, kubeconfig)

    def history(namespace: str, service: str) -> list[dict[str, Any]]:
        return [dict(entry) for entry in state_of(cluster.get(namespace, service)).history]

    return history


def settings_from_configs(paths: Sequence[str], *, state_dir: Path, schedule: float | None = None,
                          references: Mapping[str, str] | None = None,
                          deployments: DeploymentHistory | None = None) -> MonitorSettings:  # fmt: skip
    """Settings for one model per config file (at least one), CLI overrides applied."""
    from mlpipex.config import load_config
    from mlpipex.config.durations import parse_duration
    from mlpipex.kserve.manifests import service_name

    models: dict[str, ModelInfo] = {}
    first: Any = None
    for path in paths:
        config = load_config(path, check_files=False)
        first = first or config
        monitoring = config.monitoring
        service = service_name(config)
        source = (references or {}).get(service) or monitoring.reference
        blob = load_reference(source, base=config.source.parent) if source \
            else _local_package(config.model.name, config.model.version)  # fmt: skip
        sla = next((s for s in config.gates.latency.sla if s.batch_size == 1), config.gates.latency.sla[0])
        models[service] = model_info(
            service, blob, repository=monitoring.repository, environment=monitoring.environment,
            sla_ms={k: v for k, v in (("p50", sla.p50), ("p95", sla.p95), ("p99", sla.p99)) if v is not None},
        )  # fmt: skip
    for service, source in (references or {}).items():
        if service not in models:
            models[service] = model_info(service, load_reference(source))
    if first is None:
        return MonitorSettings(state_dir=state_dir, models=models, schedule_seconds=schedule or 900.0,
                               deployments=deployments)  # fmt: skip
    monitoring = first.monitoring
    alerts = monitoring.alerts
    if alerts.url and not monitoring.repository:
        raise ConfigError("monitoring.alerts.url is set but monitoring.repository is not",
                          fix="set monitoring.repository: owner/name (the App opens the retraining PR there)")  # fmt: skip
    return MonitorSettings(
        state_dir=state_dir,
        models=models,
        limits=Limits(window=monitoring.window, ttl=parse_duration(monitoring.join_timeout)),
        schedule_seconds=schedule or parse_duration(monitoring.schedule or "15m"),
        alerts=ModelAlerts(alerts.url, alerts.token_env, alerts.fire_after, alerts.resolve_after),
        drift=monitoring.model_dump(),
        quality_max_drop=monitoring.quality.max_drop,
        quality_alpha=monitoring.quality.alpha,
        quality_min_labels=monitoring.quality.min_labels,
        deployments=deployments,
    )
