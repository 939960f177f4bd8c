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
    columns = V.from_v2([Tensor("x", [2], "FP32", [1, 3]), Tensor("y", [2], "FP32", [2, 4]), Tensor("colour", [2], "FP32", [1, 2])])
    assert columns.tolist() == [[1, 2, 1], [3, 4, 2]]


def test_datatypes_are_strict_unless_safe_cast_is_on():
    """Issue 15 item 13: INT64/FP64 for an FP32 input is a 400, as the README promises."""
    for datatype in ("INT64", "FP64"):
        with pytest.raises(RequestError) as info:
            V.from_v2([Tensor("features", [1, 3], datatype, [1, 2, 1])])
        assert info.value.field == "inputs[features].datatype"
        assert f"expected FP32, got {datatype}" in info.value.message and "--safe-cast" in info.value.message
    lenient = Validator(V.features, V.input_name, V.dtype, PROFILE, safe_cast=True)
    matrix = lenient.from_v2([Tensor("features", [1, 3], "INT64", [1, 2, 1])])
    assert matrix.dtype == np.float32 and matrix.tolist() == [[1, 2, 1]]
    with pytest.raises(RequestError):  # still numbers only
        lenient.from_v2([Tensor("features", [1, 3], "BYTES", ["a", "b", "c"])])


@pytest.mark.parametrize(
    ("inputs", "field", "fragment"),
    [
        ([Tensor("features", [2, 3], "FP32", [1, 2, 1])], "inputs[features].data", "3 values for shape [2, 3], which holds 6"),
        ([Tensor("features", [1, 3], "FP32", [1, 2, 1, 1])], "inputs[features].data", "4 values for shape [1, 3]"),
        ([Tensor("features", [1, 3], "FP32", ["abc", 2, 1])], "inputs[features].data[0]", "expected a number (FP32), got str 'abc'"),
        ([Tensor("features", [1, 3], "FP32", [1, None, 1])], "inputs[features].data[1]", "got NoneType"),
        ([Tensor("features", [1, 3], "FP32", [1, 2, 1]), Tensor("extra", [1], "FP32", [1])], "inputs[extra]",
         "unknown input; this model takes one tensor `features`"),
        ([Tensor("features", [1, 3], "FP32", [1, 2, 1]), Tensor("features", [1, 3], "FP32", [1, 2, 1])],
         "inputs[features]", "given twice"),
        ([Tensor("x", [2], "FP32", [1, 2]), Tensor("y", [1], "FP32", [1]), Tensor("colour", [2], "FP32", [1, 2])],
         "inputs[y].shape", "1 rows, but inputs[x] has 2"),
        ([Tensor("features", [1, -3], "FP32", [1, 2, 1])], "inputs[features].shape", "non-negative integers"),
        ([], "inputs", "empty; send one tensor `features` of shape [N, 3]"),
    ],
)  # fmt: skip
def test_malformed_tensors_name_the_input_and_what_was_expected(inputs, field, fragment):
    """Issue 15 items 12 and 14: these were 500s, or named the wrong input."""
    with pytest.raises(RequestError) as info:
        V.from_v2(inputs)
    assert info.value.field == field and fragment in info.value.message


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


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        (b"a=1", "body", "3 bytes that are not JSON"),
        ([1, 2], "body", "got list"),
        ({"inputs": []}, "instances", "POST it to /v2/models/NAME/infer"),
    ],
)
def test_v1_says_what_the_body_should_be(payload, field, fragment):
    """Issue 15 item 15: a non-JSON v1 body was "instances: expected a non-empty list of rows"."""
    with pytest.raises(RequestError) as info:
        V.from_v1(payload)
    assert info.value.field == field and fragment in info.value.message


class CountingProfile(dict):
    """A profile that counts how often the validator looks a feature up."""

    lookups = 0

    def get(self, key, default=None):
        CountingProfile.lookups += 1
        return super().get(key, default)


def test_the_profile_is_read_once_per_model_not_per_request():
    """Issue 19: the categorical set was rebuilt from the profile on every request."""
    profile = CountingProfile(PROFILE)
    validator = Validator(("x", "y", "colour"), "features", "float32", profile)
    CountingProfile.lookups = 0
    for _ in range(10):
        validator.from_v2([Tensor("features", [2, 3], "FP32", [1, 2, 1, 3, 4, 2])])
    assert CountingProfile.lookups == 0


def test_an_infinite_value_after_an_allowed_nan_is_refused():
    """The per-column loop looked only at the first non-finite row: NaN (allowed for y) hid a later inf."""
    with pytest.raises(RequestError) as info:
        V.from_v2([Tensor("features", [2, 3], "FP32", [1, np.nan, 1, 1, np.inf, 2])])
    assert info.value.field == "y (row 1)" and info.value.message == "infinite value"


def _reference_check(validator, matrix):
    """The per-element rule, written out in Python: the first (column, row) refused, or None."""
    for column, name in enumerate(validator.features):
        profile = validator.profile.get(name) or {}
        for row, value in enumerate(matrix[:, column]):
            if math.isinf(value) or (math.isnan(value) and profile.get("null_rate", 1.0) == 0):
                return f"{name} (row {row})"
        if profile.get("kind") == "categorical" and profile.get("other", 0) == 0:
            seen = set(profile.get("frequencies", {}))
            for row, value in enumerate(matrix[:, column]):
                label = str(int(value)) if math.isfinite(value) and float(value).is_integer() else str(value)
                if math.isfinite(value) and label not in seen:
                    return f"{name} (row {row})"
    return None


def test_vectorised_checks_agree_with_the_per_element_rule():
    profile = {
        "a": {"kind": "continuous", "null_rate": 0.0},
        "b": {"kind": "continuous", "null_rate": 0.2},
        "c": {"kind": "categorical", "null_rate": 0.1, "other": 0.0,
              "frequencies": {"0": 0.2, "3": 0.2, "2.5": 0.2, "-1": 0.1, "red": 0.1, "1.0": 0.1, "1e20": 0.1}},
        "d": {"kind": "categorical", "null_rate": 0.0, "other": 0.1, "frequencies": {"1": 1.0}},
    }  # fmt: skip
    validator = Validator(tuple(profile), "features", "float64", profile)
    rng = np.random.default_rng(19)
    pool = np.array([0, 3, 2.5, -1, 1, 1e20, 7, -0.0, np.nan, np.inf, -np.inf, 0.5])
    refused = 0
    for _ in range(400):
        matrix = rng.choice(pool, size=(int(rng.integers(1, 5)), 4), p=[0.3, 0.2, 0.1, 0.1] + [0.3 / 8] * 8)
        expected = _reference_check(validator, matrix)
        try:
            validator._check_values(matrix)
            got = None
        except RequestError as exc:
            got = exc.field
        assert got == expected, matrix
        refused += got is not None
    assert 50 < refused < 390  # both outcomes were exercised


def test_a_big_batch_against_many_categories_takes_the_per_column_path():
    levels = {str(i): 1 / 3000 for i in range(3000)}
    profile = {"c": {"kind": "categorical", "null_rate": 0.0, "other": 0.0, "frequencies": levels}}
    validator = Validator(("c",), "features", "float64", profile)
    matrix = np.arange(3000, dtype=np.float64).reshape(-1, 1)
    assert validator._check_values(matrix).shape == (3000, 1)
    matrix[1234, 0] = 3000
    with pytest.raises(RequestError) as info:
        validator._check_values(matrix)
    assert info.value.field == "c (row 1234)" and "'3000'" in info.value.message
