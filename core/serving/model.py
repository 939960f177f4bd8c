"""A KServe model around onnxruntime, validating every request first.

Runs inside KServe's own model server (``kserve.ModelServer``), which speaks the
v1 and v2 (Open Inference Protocol) REST APIs.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model
from kserve.errors import InvalidInput

from mlpipex.serving.package import ServablePackage
from mlpipex.serving.validation import RequestError, Validator

_V2_TYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32", "bool": "BOOL"}


class OnnxPackageModel(Model):
    def __init__(self, package: ServablePackage, *, threads: int = 1, safe_cast: bool = False) -> None:
        super().__init__(package.name)
        self.package = package
        self.threads = threads
        self.validator = Validator.from_package(package.config, safe_cast=safe_cast)
        self.session: Any = None

    def load(self) -> bool:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        self.session = ort.InferenceSession(str(self.package.model_path), options, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return self.ready

    async def predict(self, payload: Any, headers: dict[str, str] | None = None,
                      response_headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        try:
            if isinstance(payload, InferRequest):
                matrix = self.validator.from_v2(payload.inputs)
            else:
                matrix = self.validator.from_v1(payload)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None
        results = self.session.run(None, {self.validator.input_name: matrix})
        if isinstance(payload, InferRequest):
            outputs = []
            for name, value in zip(self.outputs, results):
                array = np.asarray(value)
                output = InferOutput(name=name, shape=list(array.shape), datatype=_V2_TYPES.get(str(array.dtype), "FP32"))
                output.set_data_from_numpy(array, binary_data=False)
                outputs.append(output)
            return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name, infer_outputs=outputs)
        rows = [dict(zip(self.outputs, (np.asarray(v)[i].tolist() for v in results))) for i in range(matrix.shape[0])]
        return {"predictions": rows}
