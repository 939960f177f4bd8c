"""TensorFlow SavedModel directories, run through their ``serving_default`` signature.

A SavedModel records its serving signature: every input's and output's name, dtype
and shape, so the schema gate compares the declared signature against the artifact's
own. Inputs and outputs are taken in name order (the signature is a mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import InputError, Location
from mlpipex.runtime.base import TabularModel, TensorInfo, first_line, require_extra

__all__ = ["SIGNATURE_KEY", "SavedModelModel"]

SIGNATURE_KEY = "serving_default"  # what TF Serving and Triton's TensorFlow backend serve


class SavedModelModel(TabularModel):
    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        tf = require_extra("tensorflow", "tensorflow", "savedmodel")
        self.tf, self.path, self.format = tf, path, "savedmodel"
        gpus = tf.config.list_physical_devices("GPU")
        wanted = list(providers) or ["cpu"]
        available = ["cpu"] + (["cuda"] if gpus else [])
        self.providers = [p for p in wanted if p in available] or ["cpu"]
        self.skipped_providers = [p for p in wanted if p not in available]
        if not (path / "saved_model.pb").is_file():
            raise InputError(f"{path} is not a SavedModel directory (it has no saved_model.pb)",
                             location=Location(str(path)), fix="save it with tf.saved_model.save(module, DIR)")  # fmt: skip
        try:
            loaded = tf.saved_model.load(str(path))
            function = loaded.signatures[SIGNATURE_KEY]
        except KeyError:
            raise InputError(f"the SavedModel has no `{SIGNATURE_KEY}` signature", location=Location(str(path)),
                             fix="save it with signatures={'serving_default': module.__call__}") from None  # fmt: skip
        except Exception as exc:  # TF raises its own errors for a damaged directory
            raise InputError(f"tensorflow cannot load the model: {first_line(exc)}", location=Location(str(path)),
                             fix="save it with tf.saved_model.save(module, DIR)") from None  # fmt: skip
        self._loaded, self.function = loaded, function  # the loaded object owns the function's variables
        inputs = function.structured_input_signature[1]
        self.inputs = [_info(name, inputs[name]) for name in sorted(inputs)]
        outputs = function.structured_outputs
        self.outputs = [_info(name, outputs[name]) for name in sorted(outputs)]

    @property
    def device(self) -> str:
        return self.providers[0]

    def feed(self, features: np.ndarray, feature_names: Sequence[str]) -> Any:
        arrays = super().feed(features, feature_names)
        return {name: self.tf.constant(value) for name, value in arrays.items()}

    def runner(self, feed: dict[str, Any]) -> Callable[[], Any]:
        """The serving signature's concrete function: the framework's own call."""
        function = self.function
        return lambda: function(**feed)

    def _run(self, feed: dict[str, Any]) -> Sequence[Any]:
        out = self.function(**feed)
        return [out[spec.name].numpy() for spec in self.outputs]


def _info(name: str, spec: Any) -> TensorInfo:
    dims = spec.shape.as_list() if spec.shape.rank is not None else None
    return TensorInfo(name, spec.dtype.name, None if dims is None else tuple(dims))
