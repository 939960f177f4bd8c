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
from dataclasses import dataclass, field
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
    # Derived once from ``profile`` (not per request): see __post_init__.
    _no_nan: np.ndarray = field(init=False, repr=False, compare=False)  # bool per column: training had no NaN
    _category_columns: list[int] = field(init=False, repr=False, compare=False)  # closed categorical columns
    _category_table: np.ndarray = field(init=False, repr=False, compare=False)  # [column, category], NaN-padded

    def __post_init__(self) -> None:
        profiles = [self.profile.get(name) or {} for name in self.features]
        object.__setattr__(self, "_no_nan", np.array([p.get("null_rate", 1.0) == 0 for p in profiles], dtype=bool))
        closed = [(column, _category_values(p.get("frequencies") or {})) for column, p in enumerate(profiles)
                  if p.get("kind") == "categorical" and p.get("other", 0) == 0]  # fmt: skip
        width = max((len(values) for _, values in closed), default=0)
        table = np.full((len(closed), max(width, 1)), np.nan)
        for index, (_, values) in enumerate(closed):
            table[index, : len(values)] = values
        object.__setattr__(self, "_category_columns", [column for column, _ in closed])
        object.__setattr__(self, "_category_table", table)

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
            types = set(map(type, data))
            flat = list(_flatten(data)) if list in types else data
            if flat is not data:
                types = set(map(type, flat))
            if not types <= _JSON_NUMBERS:  # only then look for the first offender, in Python
                for index, value in enumerate(flat):
                    if type(value) not in _JSON_NUMBERS:
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
        """Whole-matrix numpy checks; Python runs per column only to word the first error."""
        finite = np.isfinite(matrix)
        problems = None if finite.all() else ~finite & (np.isinf(matrix) | self._no_nan)  # inf; NaN where training had none
        unseen = None
        if self._category_columns:
            # [rows, categorical columns, categories]: one comparison for every closed column at
            # once (NaN padding equals nothing, and a NaN value is not a category).
            values = matrix[:, self._category_columns]
            if values.size * self._category_table.shape[1] <= _BROADCAST_LIMIT:
                known = (values[:, :, None] == self._category_table).any(axis=2)
            else:  # a big batch against many categories: per column, without the 3-D temporary
                known = np.column_stack([np.isin(values[:, i], self._category_table[i]) for i in range(values.shape[1])])
            unseen = finite[:, self._category_columns] & ~known
        if (problems is not None and problems.any()) or (unseen is not None and unseen.any()):
            self._raise_first(matrix, problems, unseen)
        return matrix.astype(np.dtype(self.dtype), copy=False)

    def _raise_first(self, matrix: np.ndarray, problems: np.ndarray | None, unseen: np.ndarray | None) -> None:
        """The error for the first column with a problem, and in it the first row (values before categories)."""
        closed = {column: index for index, column in enumerate(self._category_columns)}
        for column, name in enumerate(self.features):
            if problems is not None and problems[:, column].any():
                row = int(np.flatnonzero(problems[:, column])[0])
                if np.isinf(matrix[row, column]):
                    raise RequestError(f"{name} (row {row})", "infinite value")
                raise RequestError(f"{name} (row {row})", "missing value (NaN); training never had one")
            if unseen is not None and column in closed and unseen[:, closed[column]].any():
                row = int(np.flatnonzero(unseen[:, closed[column]])[0])
                category = _category(matrix[row, column])
                raise RequestError(f"{name} (row {row})", f"category {category!r} was never seen in training")


_BROADCAST_LIMIT = 1 << 22  # elements of the [rows, columns, categories] comparison (4 MB of bools)
_JSON_NUMBERS = {int, float}  # exact types: bool (a subclass of int) is not a number here


def _category_values(frequencies: Mapping[str, Any]) -> np.ndarray:
    """The numbers whose category label (``_category``) is one of ``frequencies``' keys.

    A key that no number prints as ("red", "1.0", "1e20") can never match a numeric
    request value, so it is left out; the rest compare by value, with ``np.isin``."""
    values = []
    for key in frequencies:
        try:
            value = float(key)
        except ValueError:
            continue
        if math.isfinite(value) and _category(value) == key:
            values.append(value)
    return np.array(values, dtype=np.float64)


def _flatten(data: list[Any]) -> Iterator[Any]:
    for item in data:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _category(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
