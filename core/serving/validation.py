"""Request validation against the package's signature and reference profile (pure).

A bad request never reaches the model: wrong dtype or shape, a missing or extra
feature, NaN where training had none, a category training never saw — each is a
``RequestError`` naming the field, which the server answers with 400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RequestError", "Validator"]

_V2_FLOATS = {"FP16", "FP32", "FP64"}
_V2_INTS = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}


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

    @classmethod
    def from_package(cls, config: Mapping[str, Any]) -> Validator:
        signature = config.get("signature") or {}
        inputs = signature.get("inputs") or [{"name": "features", "dtype": "float32"}]
        features = tuple(config.get("features") or ())
        if not features:
            raise ValueError("the package lists no features; rebuild it with a current `mlpipex package`")
        profile = (config.get("profile") or {}).get("features") or {}
        return cls(features, inputs[0]["name"], inputs[0].get("dtype", "float32"), profile)

    # -- the two protocols ---------------------------------------------------------

    def from_v2(self, inputs: Sequence[Any]) -> np.ndarray:
        """Open Inference Protocol: one [N, F] tensor named like the graph input, or one [N] tensor per feature."""
        by_name = {i.name: i for i in inputs}
        if set(by_name) == {self.input_name}:
            tensor = by_name[self.input_name]
            self._check_datatype(tensor.name, tensor.datatype)
            shape = list(tensor.shape)
            if len(shape) != 2 or shape[1] != len(self.features):
                raise RequestError(f"inputs[{tensor.name}].shape", f"expected [N, {len(self.features)}], got {shape}")
            matrix = self._numbers(tensor.name, tensor.as_numpy()).reshape(shape)
            return self._check_values(matrix)
        missing = [f for f in self.features if f not in by_name]
        extra = sorted(set(by_name) - set(self.features))
        if extra:
            raise RequestError(f"inputs[{extra[0]}]", f"unknown input; expected `{self.input_name}` or the features "
                                                      f"{', '.join(self.features[:5])}…")  # fmt: skip
        if missing:
            raise RequestError(f"inputs[{missing[0]}]", "missing feature")
        columns = []
        for name in self.features:
            tensor = by_name[name]
            self._check_datatype(name, tensor.datatype)
            values = self._numbers(name, tensor.as_numpy()).reshape(-1)
            columns.append(values)
        if len({c.size for c in columns}) != 1:
            raise RequestError("inputs", "feature tensors have different lengths")
        return self._check_values(np.column_stack(columns))

    def from_v1(self, payload: Mapping[str, Any]) -> np.ndarray:
        """``{"instances": [[...], ...]}`` or ``{"instances": [{"feature": value, ...}, ...]}``."""
        instances = payload.get("instances") if isinstance(payload, Mapping) else None
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

    def _check_datatype(self, name: str, datatype: str) -> None:
        if datatype not in _V2_FLOATS | _V2_INTS:
            raise RequestError(f"inputs[{name}].datatype", f"{datatype} is not numeric; send FP32")

    @staticmethod
    def _numbers(name: str, array: np.ndarray) -> np.ndarray:
        if array.dtype.kind not in "iuf":
            raise RequestError(f"inputs[{name}].data", "values must be numbers")
        return array.astype(np.float64, copy=False)

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


def _category(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
