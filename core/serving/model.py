"""A KServe model around any mlpipex runtime (ONNX, scikit-learn, XGBoost, …), validating every request first.

Runs inside KServe's own model server (``kserve.ModelServer``), which speaks the
v1 and v2 (Open Inference Protocol) REST APIs. The model runs through the same
``mlpipex.runtime`` adapter the gates used, so what is served is what was gated.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model
from kserve.errors import InvalidInput

from mlpipex.errors import InputError
from mlpipex.runtime import ModelRuntime, load_model, model_format
from mlpipex.serving.package import ServablePackage
from mlpipex.serving.validation import RequestError, Validator

__all__ = ["OnnxPackageModel", "PackageModel"]

_V2_TYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32", "bool": "BOOL"}


class PackageModel(Model):
    def __init__(self, package: ServablePackage, *, threads: int = 1, safe_cast: bool = False) -> None:
        super().__init__(package.name)
        self.package = package
        self.threads = threads
        self.safe_cast = safe_cast
        self.validator = Validator.from_package(package.config, safe_cast=safe_cast)
        self.runtime: ModelRuntime | None = None

    def load(self) -> bool:
        fmt = str(self.package.config.get("format") or "onnx")
        if model_format(fmt).pickle:
            _check_digest(self.package)
        # A package is trusted as a whole (pulled by digest, or built here by `mlpipex package`).
        self.runtime = load_model(self.package.model_path, fmt, threads=self.threads,
                                  trusted_root=self.package.model_path.parent,
                                  declared=self.package.config.get("signature"))  # fmt: skip
        if not self.package.config.get("signature"):
            # No declared signature: validate against the one the artifact records (or its format defines).
            config = {**self.package.config, "signature": self.runtime.signature().to_config()}
            self.validator = Validator.from_package(config, safe_cast=self.safe_cast)
        self.outputs = [o.name for o in self.runtime.outputs]
        self.ready = True
        return self.ready

    async def predict(self, payload: Any, headers: dict[str, str] | None = None,
                      response_headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        assert self.runtime is not None, "load() first"
        try:
            if isinstance(payload, InferRequest):
                matrix = self.validator.from_v2(payload.inputs)
            else:
                matrix = self.validator.from_v1(payload)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None
        results = self.runtime.run({self.validator.input_name: matrix})
        if isinstance(payload, InferRequest):
            outputs = []
            for name, value in results.items():
                array = np.asarray(value)
                output = InferOutput(name=name, shape=list(array.shape), datatype=_V2_TYPES.get(str(array.dtype), "FP32"))
                output.set_data_from_numpy(array, binary_data=False)
                outputs.append(output)
            return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name, infer_outputs=outputs)
        rows = [{name: np.asarray(v)[i].tolist() for name, v in results.items()} for i in range(matrix.shape[0])]
        return {"predictions": rows}


OnnxPackageModel = PackageModel  # the name before other formats were served


def _check_digest(package: ServablePackage) -> None:
    """A pickle runs code when loaded: load only the bytes the package's config pins."""
    expected = str((package.config.get("model") or {}).get("digest") or "")
    if not expected:
        return  # a package assembled for the serving gate, from the repository's own file
    digest = hashlib.sha256()
    with package.model_path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if f"sha256:{digest.hexdigest()}" != expected:
        raise InputError(f"{package.model_path} is not the file the package pins ({expected}): refusing to unpickle it",
                         fix="pull the package again by digest (mlpipex pull REF@sha256:…)")  # fmt: skip
