"""Running models: one interface (:class:`ModelRuntime`), one adapter per format.

``load_model(path, format)`` picks the adapter ``model.format`` names (see
``FORMATS``); the gates, ``mlpipex validate`` and ``mlpipex serve`` only ever use the
interface. Also here: holdout tables and the timing loops. The gates' evaluation is
pure; this package is where the model actually runs.
"""

from mlpipex.runtime.base import MissingExtraError, ModelRuntime, Predictions, Signature, TensorInfo
from mlpipex.runtime.data import Holdout, load_holdout, read_table
from mlpipex.runtime.formats import (
    FORMATS,
    ModelFormat,
    framework_version,
    load_model,
    model_format,
    read_signature,
)
from mlpipex.runtime.model import GPU_PROVIDERS, OnnxModel
from mlpipex.runtime.timing import time_calls, time_interleaved

__all__ = [
    "FORMATS",
    "GPU_PROVIDERS",
    "Holdout",
    "MissingExtraError",
    "ModelFormat",
    "ModelRuntime",
    "OnnxModel",
    "Predictions",
    "Signature",
    "TensorInfo",
    "framework_version",
    "load_holdout",
    "load_model",
    "model_format",
    "read_signature",
    "read_table",
    "time_calls",
    "time_interleaved",
]
