"""Running things: loading holdout tables, onnxruntime sessions, timing loops.

The gates' evaluation is pure; this package is where the model actually runs.
"""

from mlpipex.runtime.data import Holdout, load_holdout, read_table
from mlpipex.runtime.model import OnnxModel, Predictions, TensorInfo
from mlpipex.runtime.timing import time_calls, time_interleaved

__all__ = [
    "Holdout",
    "OnnxModel",
    "Predictions",
    "TensorInfo",
    "load_holdout",
    "read_table",
    "time_calls",
    "time_interleaved",
]
