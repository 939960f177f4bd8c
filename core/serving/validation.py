"""Request validation against the package's signature and reference profile (pure).

A bad request never reaches the model: wrong dtype or shape, a missing or extra
feature, NaN where training had none, a category training never saw — each is a
``RequestError`` naming the field, which the server answers with 400.

Datatypes are strict: an FP32 input takes FP32 tensors, as the signature says.
``safe_cast`` (``mlpipex serve --safe-cast``) also accepts any numeric v2 datatype
and casts it to the input's dtype (INT64 or FP64 values may lose precision).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["V2_DATATYPE", "RequestError", "Validator"]

_V2_FLOATS = {"FP16", "FP32", "FP64"}
_V2_INTS = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
# numpy dtype of the graph input -> the v2 datatype a request must send
V2_DATATYPE = {
    "float16": "FP16", "float32": "FP32", "float64": "FP64",
    "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
    "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64", "bool": "BOOL",
}  # fmt: skip


class RequestError(ValueError):
    """A request the model must not see; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Validator:
    features: tuple[str, ...]
    input_name: str  # the single [batch, n_features] graph input
    dtype: str  # numpy dtype of that input
    profile: Mapping[str, Any]  # per-feature reference profile ("features" of the package profile)
    safe_cast: bool = False  # accept any numeric v2 datatype, cast to ``dtype``

    @classmethod
    def from_package(cls, config: Mapping[str, Any], *, safe_cast: bool = False) -> Validator:
        signature = config.get("signature") or {}
        inputs = signature.get("inputs") or [{"name": "features", "dtype": "float32"}]
        features = tuple(config.get("features") or ())
        if not features:
            raise ValueError("the package lists no features; rebuild it with a current `mlpipex package`")
        profile = (config.get("profile") or {}).get("features") or {}
        return cls(features, inputs[0]["name"], inputs[0].get("dtype", "float32"), profile, safe_cast)

    # -- the two protocols ---------------------------------------------------------

    def from_v2(self, inputs: Sequence[Any]) -> np.ndarray:
        """Open Inference Protocol: one [N, F] tensor named like the graph input, or one [N] tensor per feature."""
        width = len(self.features)
        if not inputs:
            raise RequestError("inputs", f"empty; send one tensor `{self.input_name}` of shape [N, {width}] "
                                         "(or one [N] tensor per feature)")  # fmt: skip
        by_name: dict[str, Any] = {}
        for tensor in inputs:
            if tensor.name in by_name:
                raise RequestError(f"inputs[{tensor.name}]", "given twice; send each input once")
            by_name[tensor.name] = tensor
        if self.input_name in by_name:
            extra = [n for n in by_name if n != self.input_name]
            if extra:
                raise RequestError(f"inputs[{extra[0]}]", f"unknown input; this model takes one tensor "
                                                          f"`{self.input_name}` of shape [N, {width}]")  # fmt: skip
            tensor = by_name[self.input_name]
            shape = self._shape(tensor)
            if len(shape) != 2 or shape[1] != width:
                raise RequestError(f"inputs[{tensor.name}].shape", f"expected [N, {width}], got {shape}")
            return self._check_values(self._numbers(tensor, shape))
        extra = [n for n in by_name if n not in self.features]
        if extra:
            raise RequestError(f"inputs[{extra[0]}]", f"unknown input; expected `{self.input_name}` or the features "
                                                      f"{', '.join(self.features[:5])}{'…' if width > 5 else ''}")  # fmt: skip
        missing = [f for f in self.features if f not in by_name]
        if missing:
            raise RequestError(f"inputs[{missing[0]}]", "missing feature")
        columns = []
        for name in self.features:
            tensor = by_name[name]
            shape = self._shape(tensor)
            if len(shape) != 1 and not (len(shape) == 2 and shape[1] == 1):
                raise RequestError(f"inputs[{name}].shape", f"expected [N] (one value per row), got {shape}")
            columns.append(self._numbers(tensor, shape).reshape(-1))
        lengths = {name: c.size for name, c in zip(self.features, columns)}
        if len(set(lengths.values())) != 1:
            first, other = self.features[0], next(n for n in self.features if lengths[n] != lengths[self.features[0]])
            raise RequestError(f"inputs[{other}].shape",
                               f"{lengths[other]} rows, but inputs[{first}] has {lengths[first]}; send one value per row for every feature")  # fmt: skip
        return self._check_values(np.column_stack(columns))

    def from_v1(self, payload: Mapping[str, Any]) -> np.ndarray:
        """``{"instances": [[...], ...]}`` or ``{"instances": [{"feature": value, ...}, ...]}``."""
        if isinstance(payload, (bytes, str)):  # KServe passes a body it could not read as JSON through as is
            raise RequestError("body", f"expected a JSON object {{\"instances\": [...]}}, got {len(payload)} "
                                       "bytes that are not JSON; send JSON (Content-Type: application/json)")  # fmt: skip
        if not isinstance(payload, Mapping):
            raise RequestError("body", f"expected a JSON object {{\"instances\": [...]}}, got {type(payload).__name__}")
        if "instances" not in payload and "inputs" in payload:
            raise RequestError("instances", "missing; this looks like a v2 request: POST it to /v2/models/NAME/infer")
        instances = payload.get("instances")
        if not isinstance(instances, list) or not instances:
            raise RequestError("instances", "expected a non-empty list of rows")
        rows = []
        for index, row in enumerate(instances):
            if isinstance(row, Mapping):
                missing = [f for f in self.features if f not in row]
                if missing:
                    raise RequestError(f"instances[{index}].{missing[0]}", "missing feature")
                extra = sorted(set(row) - set(self.features))
                if extra:
                    raise RequestError(f"instances[{index}].{extra[0]}", "unknown feature")
                row = [row[f] for f in self.features]
            if not isinstance(row, list) or len(row) != len(self.features):
                raise RequestError(f"instances[{index}]", f"expected {len(self.features)} values")
            for column, value in enumerate(row):
                if isinstance(value, bool) or (not isinstance(value, (int, float)) and value is not None):
                    raise RequestError(f"instances[{index}].{self.features[column]}",
                                       f"expected a number, got {type(value).__name__}")  # fmt: skip
            rows.append([math.nan if v is None else v for v in row])
        return self._check_values(np.asarray(rows, dtype=np.float64))

    # -- checks ----------------------------------------------------------------------

    @staticmethod
    def _shape(tensor: Any) -> list[int]:
        shape = list(tensor.shape)
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
            raise RequestError(f"inputs[{tensor.name}].shape", f"expected non-negative integers, got {shape}")
        return shape

    def _numbers(self, tensor: Any, shape: list[int]) -> np.ndarray:
        """The tensor's values as float64, after its datatype and its element count are checked."""
        name, datatype = tensor.name, tensor.datatype
        expected = V2_DATATYPE.get(str(np.dtype(self.dtype)), "FP32")
        numeric = datatype in _V2_FLOATS | _V2_INTS
        if datatype != expected and not (self.safe_cast and numeric):
            hint = " (or start the server with --safe-cast)" if numeric else ""
            raise RequestError(f"inputs[{name}].datatype", f"expected {expected}, got {datatype}; send {expected}{hint}")
        data = getattr(tensor, "data", None)
        if isinstance(data, list):  # JSON: check the values before numpy sees them
            flat = list(_flatten(data))
            for index, value in enumerate(flat):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise RequestError(f"inputs[{name}].data[{index}]",
                                       f"expected a number ({datatype}), got {type(value).__name__} {value!r:.40}")  # fmt: skip
            count = len(flat)
        else:
            count = None
        size = math.prod(shape)
        if count is not None and count != size:
            raise RequestError(f"inputs[{name}].data", f"{count} values for shape {shape}, which holds {size}")
        try:
            array = np.asarray(tensor.as_numpy())
        except ValueError as exc:  # binary data whose byte count does not fit the shape
            raise RequestError(f"inputs[{name}].data", f"does not fit shape {shape} as {datatype}: {exc}") from None
        if array.dtype.kind not in "iuf":
            raise RequestError(f"inputs[{name}].data", f"expected numbers ({datatype})")
        return array.astype(np.float64, copy=False).reshape(shape)

    def _check_values(self, matrix: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(matrix)
        for column, name in enumerate(self.features):
            profile = self.profile.get(name) or {}
            if bad[:, column].any():
                row = int(np.flatnonzero(bad[:, column])[0])
                if np.isinf(matrix[row, column]):
                    raise RequestError(f"{name} (row {row})", "infinite value")
                if profile.get("null_rate", 1.0) == 0:
                    raise RequestError(f"{name} (row {row})", "missing value (NaN); training never had one")
            if profile.get("kind") == "categorical" and profile.get("other", 0) == 0:
                seen = set(profile.get("frequencies", {}))
                for row, value in enumerate(matrix[:, column]):
                    if np.isfinite(value) and _category(value) not in seen:
                        raise RequestError(f"{name} (row {row})", f"category {_category(value)!r} was never seen in training")
        return matrix.astype(np.dtype(self.dtype), copy=False)


def _flatten(data: list[Any]) -> Iterator[Any]:
    for item in data:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _category(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
