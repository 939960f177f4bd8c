"""Where the canary analysis reads its samples: one choice, one precedence, for the CLI and the App.

1. Samples handed in explicitly (``mlpipex canary run --metrics-file``, a test's source).
2. The model's own config: ``deploy.monitor``, else ``deploy.prometheus``. The config
   admits only one of the two (``DeployConfig._one_metrics_source``), so their order
   never changes which one is used; the monitor is named first because it is the
   source mlpipex runs itself: its samples are already split by revision, where
   Prometheus needs a query per metric written by the user.
3. The operator's default monitor (the App's ``MLPIPEX_METRICS_URL``), for models whose
   config names neither.

Before this module the CLI asked the monitor first and the App Prometheus first; as
the config cannot set both, no rollout changes source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlpipex.errors import InputError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.analysis import MetricsSource

__all__ = ["metrics_source"]

DEFAULT_MONITOR_TIMEOUT = 10.0


def metrics_source(config: Config, env: EnvironmentConfig, *, samples_file: Path | None = None,
                   default_monitor: str | None = None) -> MetricsSource:  # fmt: skip
    """The canary's metrics source for ``env``, by the precedence above; InputError naming
    the settings when there is none."""
    from mlpipex.config.durations import parse_duration
    from mlpipex.kserve.analysis import FileSource, PrometheusSource

    if samples_file is not None:
        return FileSource(samples_file)
    monitor = config.deploy.monitor
    if monitor is not None:
        from mlpipex.monitor import MonitorSource

        return MonitorSource(monitor.url, timeout=monitor.timeout)
    prometheus = config.deploy.prometheus
    if prometheus is not None:
        if env.canary is None:
            raise InputError(f"environment {env.name} has no canary settings", fix="add deploy.environments[].canary")
        return PrometheusSource(prometheus.url, {m.name: m.query for m in env.canary.metrics},
                                window_seconds=parse_duration(env.canary.interval) or 60,
                                step_seconds=prometheus.step_seconds, timeout=prometheus.timeout)  # fmt: skip
    if default_monitor:
        from mlpipex.monitor import MonitorSource

        return MonitorSource(default_monitor, timeout=DEFAULT_MONITOR_TIMEOUT)
    raise InputError(f"{config.model.name} in {env.name}: no metrics source for the canary analysis",
                     fix="set deploy.monitor.url or deploy.prometheus.url (with a query per canary metric) in "
                         "mlpipex.yaml; or pass --metrics-file (CLI) or set MLPIPEX_METRICS_URL (App)")  # fmt: skip
