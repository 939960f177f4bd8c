"""mlpipex: deployment gates, model packages and rollouts for ML models.

The public API is small and stable; everything else is private to its module.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from mlpipex.errors import (
    ConfigError,
    ExternalError,
    InputError,
    MlpipexError,
)
from mlpipex.version import __version__

if TYPE_CHECKING:
    from mlpipex.config import Config, load_config
    from mlpipex.gates import GateResult, Measurement, Report, Status, run_gates, select_gates

# Config and gates pull in pydantic and numpy (~0.3 s): imported on first use, so
# `mlpipex --help` and the commands that never load a config start fast.
_LAZY = {
    "Config": "mlpipex.config",
    "load_config": "mlpipex.config",
    "GateResult": "mlpipex.gates",
    "Measurement": "mlpipex.gates",
    "Report": "mlpipex.gates",
    "Status": "mlpipex.gates",
    "run_gates": "mlpipex.gates",
    "select_gates": "mlpipex.gates",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'mlpipex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
