"""The runtime interface every model format implements, and what the formats share.

A gate never asks which format it runs: it loads a :class:`ModelRuntime`, reads its
signature (``inputs``/``outputs``), builds a ``feed`` from holdout rows, times
``runner(feed)`` (nothing but the framework's own call) and reads ``predict``'s
:class:`Predictions`. :class:`TabularModel` holds the format-independent half:
feeding holdout columns, choosing which output is the label, the probabilities or
the value, and the class order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlpipex.errors import InputError, Location

__all__ = [
    "MissingExtraError",
    "ModelRuntime",
    "Predictions",
    "Signature",
    "TabularModel",
    "TensorInfo",
    "first_line",
    "numpy_dtype",
    "require_extra",
]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # config spelling: float32, int64, string, …
    shape: tuple[int | str | None, ...] | None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


@dataclass(frozen=True)
class Signature:
    """What a model takes and gives, as its artifact records it (or as the format defines it)."""

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    feature_names: tuple[str, ...] | None = None  # recorded by the framework at fit time, when it was

    def to_config(self) -> dict[str, Any]:
        """The ``model.signature`` block of mlpipex.yaml (and of a package's config blob)."""

        def spec(t: TensorInfo) -> dict[str, Any]:
            return {"name": t.name, "dtype": t.dtype, "shape": None if t.shape is None else list(t.shape)}

        return {"inputs": [spec(t) for t in self.inputs], "outputs": [spec(t) for t in self.outputs]}


@dataclass(frozen=True)
class Predictions:
    """What the model said about every holdout row."""

    labels: np.ndarray | None = None  # classification
    probabilities: np.ndarray | None = None  # [rows, classes]
    values: np.ndarray | None = None  # regression
    classes: tuple[Any, ...] | None = None  # column order of ``probabilities``


@runtime_checkable
class ModelRuntime(Protocol):
    """One loaded model, whatever its format. Loading raises ``InputError`` on a bad artifact."""

    path: Path
    format: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    providers: list[str]  # where it runs, in the framework's words (onnxruntime providers, torch devices)
    skipped_providers: list[str]  # asked for, not available here

    @property
    def device(self) -> str: ...  # "cpu", or the accelerator ("cuda")

    def signature(self) -> Signature: ...

    def feed_plan_problem(self, feature_names: Sequence[str]) -> str | None: ...

    def feed(self, features: np.ndarray, feature_names: Sequence[str]) -> Any: ...

    def runner(self, feed: Any) -> Callable[[], Any]: ...

    def run(self, feed: Any) -> dict[str, np.ndarray]: ...

    def predict(
        self,
        features: np.ndarray,
        feature_names: Sequence[str],
        *,
        task: str,
        batch_size: int,
        roles: dict[str, str | None] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> Predictions: ...

    def output_roles(self, task: str, given: dict[str, str | None]) -> dict[str, str]: ...

    def classes(self, probabilities: np.ndarray | None, labels: np.ndarray | None) -> tuple[Any, ...] | None: ...


class MissingExtraError(InputError):
    """The format's framework is not installed: a setup problem (exit 2), never a gate verdict."""


def require_extra(module: str, extra: str, fmt: str) -> ModuleType:
    """Import a framework, or say which ``pip install`` brings it (exit 2, not a traceback)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"model.format `{fmt}` needs {module}, which is not installed ({first_line(exc)})",
            fix=f"pip install 'mlpipex[{extra}]'",
        ) from None


class TabularModel:
    """Feeding, output roles and classes: the same for every format.

    Subclasses set ``path``, ``format``, ``inputs``, ``outputs``, ``providers`` and
    implement ``runner`` and ``_run`` (the framework call on a feed).
    """

    path: Path
    format: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    providers: list[str]
    skipped_providers: list[str]
    feature_names_in: tuple[str, ...] | None = None  # what the framework recorded at fit time
    _class_labels: tuple[Any, ...] | None = None

    @property
    def device(self) -> str:
        return "cpu"

    def signature(self) -> Signature:
        return Signature(tuple(self.inputs), tuple(self.outputs), self.feature_names_in)

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
            recorded = self.feature_names_in
            if recorded is not None and tuple(recorded) != tuple(feature_names):
                return (
                    f"the model was fitted on the features {list(recorded)}, in that order; "
                    f"the holdout gives {list(feature_names)} (set data.features to the fitted order)"
                )
            return None
        names = {i.name for i in self.inputs}
        missing = sorted(names - set(feature_names))
        if missing:
            return f"model inputs {', '.join(missing)} have no holdout column of the same name"
        return None

    def feed(self, features: np.ndarray, feature_names: Sequence[str]) -> Any:
        """The input dict for rows of the holdout's feature matrix."""
        problem = self.feed_plan_problem(feature_names)
        if problem:
            raise InputError(problem, location=Location(str(self.path)))
        if len(self.inputs) == 1 and self.inputs[0].rank == 2:
            spec = self.inputs[0]
            return {spec.name: features.astype(numpy_dtype(spec.dtype), copy=False)}
        index = {name: i for i, name in enumerate(feature_names)}
        return {
            spec.name: features[:, index[spec.name]]
            .astype(numpy_dtype(spec.dtype), copy=False)
            .reshape(-1, 1)
            for spec in self.inputs
        }

    def runner(self, feed: Any) -> Callable[[], Any]:
        raise NotImplementedError

    def _run(self, feed: Any) -> Sequence[Any]:
        """The framework's outputs, in ``self.outputs`` order."""
        raise NotImplementedError

    def run(self, feed: Any) -> dict[str, np.ndarray]:
        try:
            values = self._run(feed)
        except InputError:
            raise
        except Exception as exc:  # frameworks raise their own untyped errors
            raise InputError(
                f"inference failed: {first_line(exc)}", location=Location(str(self.path))
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
        """Class labels in probability-column order: from the artifact, else sorted labels."""
        if self._class_labels is not None:
            return self._class_labels
        if probabilities is None:
            return None
        width = probabilities.shape[1]
        seen = sorted(set(labels.tolist())) if labels is not None else []
        return tuple(seen) if len(seen) == width else tuple(range(width))


def numpy_dtype(dtype: str) -> Any:
    return object if dtype == "string" else np.dtype(dtype)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
