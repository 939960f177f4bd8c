"""An ONNX model in onnxruntime, and what its outputs mean.

One class wraps the session so every gate feeds and reads the model the same way:
the holdout's feature matrix goes to a single ``[batch, n_features]`` input, or
column by column to inputs named after the features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import InputError, Location

__all__ = ["OnnxModel", "Predictions", "TensorInfo"]

# onnxruntime's type strings → numpy/config dtype names.
_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16", "tensor(int8)": "int8", "tensor(int16)": "int16",
    "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16", "tensor(uint32)": "uint32", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool", "tensor(string)": "string",
}  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # config spelling: float32, int64, string, …
    shape: tuple[int | str | None, ...] | None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


@dataclass(frozen=True)
class Predictions:
    """What the model said about every holdout row."""

    labels: np.ndarray | None = None  # classification
    probabilities: np.ndarray | None = None  # [rows, classes]
    values: np.ndarray | None = None  # regression
    classes: tuple[Any, ...] | None = None  # column order of ``probabilities``


class OnnxModel:
    """A loaded model. Construction raises ``InputError`` when onnxruntime refuses it."""

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        import onnxruntime as ort

        self.path = path
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
                f"onnxruntime cannot load the model: {_first_line(exc)}",
                location=Location(str(path)),
                fix="check the file is a complete ONNX model exported for a supported opset",
            ) from None
        self.inputs = [_info(t) for t in self.session.get_inputs()]
        self.outputs = [_info(t) for t in self.session.get_outputs()]
        self._class_labels = _class_labels(path)

    # -- feeding -------------------------------------------------------------------

    def feed_plan_problem(self, feature_names: Sequence[str]) -> str | None:
        """Why the holdout's features cannot be fed to this model, or None."""
        if len(self.inputs) == 1 and self.inputs[0].rank == 2:
            width = self.inputs[0].shape[1] if self.inputs[0].shape else None
            if isinstance(width, int) and width != len(feature_names):
                return (
                    f"input `{self.inputs[0].name}` takes {width} features, "
                    f"the holdout gives {len(feature_names)}"
                )
            return None
        names = {i.name for i in self.inputs}
        missing = sorted(names - set(feature_names))
        if missing:
            return f"model inputs {', '.join(missing)} have no holdout column of the same name"
        return None

    def feed(self, features: np.ndarray, feature_names: Sequence[str]) -> dict[str, np.ndarray]:
        """The input dict for rows of the holdout's feature matrix."""
        problem = self.feed_plan_problem(feature_names)
        if problem:
            raise InputError(problem, location=Location(str(self.path)))
        if len(self.inputs) == 1 and self.inputs[0].rank == 2:
            spec = self.inputs[0]
            return {spec.name: features.astype(_numpy_dtype(spec.dtype), copy=False)}
        index = {name: i for i, name in enumerate(feature_names)}
        return {
            spec.name: features[:, index[spec.name]]
            .astype(_numpy_dtype(spec.dtype), copy=False)
            .reshape(-1, 1)
            for spec in self.inputs
        }

    def runner(self, feed: dict[str, np.ndarray]) -> Callable[[], Any]:
        """A zero-argument call for timing loops: no work but ``session.run``."""
        run = self.session.run
        return lambda: run(None, feed)

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            values = self.session.run(None, feed)
        except Exception as exc:
            raise InputError(
                f"inference failed: {_first_line(exc)}", location=Location(str(self.path))
            ) from None
        return {spec.name: np.asarray(v) for spec, v in zip(self.outputs, values)}

    # -- predicting ----------------------------------------------------------------

    def predict(
        self,
        features: np.ndarray,
        feature_names: Sequence[str],
        *,
        task: str,
        batch_size: int,
        roles: dict[str, str | None] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> Predictions:
        """Run every row in batches and interpret the outputs by ``roles``."""
        chosen = self.output_roles(task, roles or {})
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in chosen.values()}
        rows = features.shape[0]
        for start in range(0, rows, batch_size):
            out = self.run(self.feed(features[start : start + batch_size], feature_names))
            for name in chunks:
                chunks[name].append(out[name])
            if on_batch:
                on_batch(min(start + batch_size, rows), rows)
        joined = {name: np.concatenate(parts) for name, parts in chunks.items()}
        if task == "regression":
            return Predictions(values=joined[chosen["value"]].reshape(rows, -1)[:, 0])
        labels = joined[chosen["label"]].reshape(-1) if "label" in chosen else None
        probabilities = joined[chosen["probabilities"]] if "probabilities" in chosen else None
        if probabilities is not None and probabilities.ndim == 1:
            probabilities = np.column_stack([1.0 - probabilities, probabilities])
        classes = self.classes(probabilities, labels)
        if labels is None and probabilities is not None and classes is not None:
            labels = np.asarray(classes)[np.argmax(probabilities, axis=1)]
        return Predictions(labels=labels, probabilities=probabilities, classes=classes)

    def output_roles(self, task: str, given: dict[str, str | None]) -> dict[str, str]:
        """Which output is the label, the probabilities, the value: configured or inferred."""
        names = {o.name for o in self.outputs}
        for role, name in given.items():
            if name and name not in names:
                raise InputError(
                    f"model.outputs.{role} names `{name}`, which is not a model output "
                    f"(outputs: {', '.join(sorted(names))})",
                    location=Location(str(self.path)),
                )
        roles: dict[str, str] = {k: v for k, v in given.items() if v}
        floats = [o for o in self.outputs if o.dtype.startswith(("float", "bfloat"))]
        if task == "regression":
            if "value" not in roles:
                if not floats:
                    raise InputError("no float output to read regression values from",
                                     location=Location(str(self.path)))  # fmt: skip
                roles["value"] = floats[0].name
            return roles
        if "label" not in roles:
            discrete = [o for o in self.outputs if not o.dtype.startswith(("float", "bfloat"))]
            if discrete:
                roles["label"] = discrete[0].name
        if "probabilities" not in roles and floats:
            roles["probabilities"] = floats[0].name
        if not roles:
            raise InputError("cannot tell which output holds the predictions",
                             location=Location(str(self.path)),
                             fix="set model.outputs.label / model.outputs.probabilities")  # fmt: skip
        return roles

    def classes(self, probabilities: np.ndarray | None, labels: np.ndarray | None) -> tuple[Any, ...] | None:
        """Class labels in probability-column order: from the graph, else sorted labels."""
        if self._class_labels is not None:
            return self._class_labels
        if probabilities is None:
            return None
        width = probabilities.shape[1]
        seen = sorted(set(labels.tolist())) if labels is not None else []
        return tuple(seen) if len(seen) == width else tuple(range(width))


def _info(arg: Any) -> TensorInfo:
    shape = arg.shape
    return TensorInfo(
        name=arg.name,
        dtype=_ORT_TYPES.get(arg.type, arg.type),
        shape=tuple(d if isinstance(d, (int, str)) else None for d in shape) if shape is not None else None,
    )


def _numpy_dtype(dtype: str) -> Any:
    return object if dtype == "string" else np.dtype(dtype)


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


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
