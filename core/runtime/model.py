"""An ONNX model in onnxruntime, and what its outputs mean.

One class wraps the session so every gate feeds and reads the model the same way:
the holdout's feature matrix goes to a single ``[batch, n_features]`` input, or
column by column to inputs named after the features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import InputError, Location
from mlpipex.runtime.base import Predictions, TabularModel, TensorInfo, first_line

__all__ = ["GPU_PROVIDERS", "OnnxModel", "Predictions", "TensorInfo"]

# onnxruntime's type strings → numpy/config dtype names.
_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16", "tensor(int8)": "int8", "tensor(int16)": "int16",
    "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16", "tensor(uint32)": "uint32", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool", "tensor(string)": "string",
}  # fmt: skip


# Providers that compute on an NVIDIA GPU: the latency gate asks for these when the model serves on one.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OnnxModel(TabularModel):
    """A loaded model. Construction raises ``InputError`` when onnxruntime refuses it."""

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        import onnxruntime as ort

        self.path = path
        self.format = "onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # keep onnxruntime's warnings out of CI logs
        wanted = list(providers) or ["CPUExecutionProvider"]
        available = set(ort.get_available_providers())
        self.providers = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        self.skipped_providers = [p for p in wanted if p not in available]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise InputError(
                f"onnxruntime cannot load the model: {first_line(exc)}",
                location=Location(str(path)),
                fix="check the file is a complete ONNX model exported for a supported opset",
            ) from None
        self.inputs = [_info(t) for t in self.session.get_inputs()]
        self.outputs = [_info(t) for t in self.session.get_outputs()]
        self._class_labels = _class_labels(path)

    @property
    def device(self) -> str:
        """Where ``session.run`` computes: the first provider onnxruntime took."""
        return "cuda" if self.providers[0] in GPU_PROVIDERS else "cpu"

    def runner(self, feed: dict[str, np.ndarray]) -> Callable[[], Any]:
        """A zero-argument call for timing loops: no work but ``session.run``."""
        run = self.session.run
        return lambda: run(None, feed)

    def _run(self, feed: dict[str, np.ndarray]) -> Sequence[Any]:
        return self.session.run(None, feed)


def _info(arg: Any) -> TensorInfo:
    shape = arg.shape
    return TensorInfo(
        name=arg.name,
        dtype=_ORT_TYPES.get(arg.type, arg.type),
        shape=tuple(d if isinstance(d, (int, str)) else None for d in shape) if shape is not None else None,
    )


def _class_labels(path: Path) -> tuple[Any, ...] | None:
    """ai.onnx.ml classifiers record their classes; read them so columns mean something."""
    try:
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:
        return None
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_ints" and attr.ints:
                return tuple(int(v) for v in attr.ints)
            if attr.name == "classlabels_strings" and attr.strings:
                return tuple(v.decode() for v in attr.strings)
    return None
