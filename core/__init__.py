"""mlpipex: deployment gates, model packages and rollouts for ML models.

The public API is small and stable; everything else is private to its module.
"""

from __future__ import annotations

from mlpipex.config import Config, load_config
from mlpipex.errors import (
    ConfigError,
    ExternalError,
    InputError,
    MlpipexError,
)
from mlpipex.gates import GateResult, Measurement, Report, Status, run_gates, select_gates
from mlpipex.version import __version__

__all__ = [
    "Config",
    "ConfigError",
    "ExternalError",
    "GateResult",
    "InputError",
    "Measurement",
    "MlpipexError",
    "Report",
    "Status",
    "__version__",
    "load_config",
    "run_gates",
    "select_gates",
]
