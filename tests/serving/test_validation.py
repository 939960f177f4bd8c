"""Request validation is pure: every malformed input is named before the model sees it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from mlpipex.serving import RequestError, Validator

PROFILE = {
    "x": {"kind": "continuous", "null_rate": 0.0},
    "y": {"kind": "continuous", "null_rate": 0.1},
    "colour": {"kind": "categorical", "null_rate": 0.0, "frequencies": {"1": 0.5, "2": 0.5}, "other": 0.0},
}
V = Validator(("x", "y", "colour"), "features", "float32", PROFILE)


@dataclass
class Tensor:
    name: str
    shape: list[int]
    datatype: str
    data: list

    def as_numpy(self):
        return np.asarray(self.data, dtype=object if self.datatype == "BYTES" else np.float64)


def test_v2_matrix_and_per_feature_tensors():
    matrix = V.from_v2([Tensor("features", [2, 3], "FP32", [1, 2, 1, 3, np.nan, 2])])
    assert matrix.dtype == np.float32 and matrix.shape == (2, 3) and math.isnan(matrix[1, 1])
    columns = V.from_v2([Tensor("x", [2], "FP64", [1, 3]), Tensor("y", [2], "FP32", [2, 4]), Tensor("colour", [2], "INT64", [1, 2])])
    assert columns.tolist() == [[1, 2, 1], [3, 4, 2]]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([Tensor("features", [1, 2], "FP32", [1, 2])], "inputs[features].shape"),
        ([Tensor("features", [1, 3], "BYTES", ["a", "b", "c"])], "inputs[features].datatype"),
        ([Tensor("x", [1], "FP32", [1]), Tensor("y", [1], "FP32", [1])], "inputs[colour]"),
        ([Tensor("x", [1], "FP32", [1]), Tensor("y", [1], "FP32", [1]), Tensor("colour", [1], "FP32", [1]),
          Tensor("age", [1], "FP32", [1])], "inputs[age]"),
        ([Tensor("features", [1, 3], "FP32", [np.nan, 1, 1])], "x (row 0)"),
        ([Tensor("features", [1, 3], "FP32", [1, np.inf, 1])], "y (row 0)"),
        ([Tensor("features", [1, 3], "FP32", [1, 1, 7])], "colour (row 0)"),
    ],
)  # fmt: skip
def test_v2_errors_name_the_field(inputs, field):
    with pytest.raises(RequestError) as info:
        V.from_v2(inputs)
    assert info.value.field == field


def test_v1_rows_and_objects():
    assert V.from_v1({"instances": [[1, 2, 1], {"x": 3, "y": None, "colour": 2}]}).shape == (2, 3)
    for payload, field in (({"instances": []}, "instances"), ({"instances": [[1, 2]]}, "instances[0]"),
                           ({"instances": [{"x": 1, "y": 2}]}, "instances[0].colour"),
                           ({"instances": [{"x": 1, "y": 2, "colour": 1, "z": 0}]}, "instances[0].z"),
                           ({"instances": [[1, "2", 1]]}, "instances[0].y")):  # fmt: skip
        with pytest.raises(RequestError) as info:
            V.from_v1(payload)
        assert info.value.field == field
