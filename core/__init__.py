"""mlpipex: deployment gates, model packages and rollouts for ML models.

The public API is small and stable; everything else is private to its module.
"""

from __future__ import annotations

__version__ = "0.1.0"

from mlpipex.config import Config, load_config
from mlpipex.errors import (
    ConfigError,
    ExternalError,
    InputError,
    MlpipexError,
)
from mlpipex.gates import GateResult, Measurement, Report, Status, run_gates, select_gates

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
