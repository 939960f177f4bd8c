"""Unit tests of the serving-side pre/post-processing (the `unit` gate runs them)."""

from __future__ import annotations

import numpy as np
import pytest

from quickstart.preprocessing import FEATURES, LABELS, postprocess, to_features


def record(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {name: float(i) for i, name in enumerate(FEATURES)}
    values.update(overrides)
    return values


def test_thirty_features_in_training_order() -> None:
    assert len(FEATURES) == 30 and len(set(FEATURES)) == 30
    assert FEATURES[:3] == ("mean_radius", "mean_texture", "mean_perimeter")
    assert FEATURES[10] == "radius_error" and FEATURES[20] == "worst_radius"
    assert FEATURES[-1] == "worst_fractal_dimension"


def test_to_features_orders_columns_by_name_not_by_insertion() -> None:
    shuffled = dict(reversed(list(record().items())))
    matrix = to_features([shuffled])
    assert matrix.dtype == np.float32 and matrix.shape == (1, 30)
    assert matrix[0].tolist() == [float(i) for i in range(30)]


def test_to_features_many_records_and_number_types() -> None:
    matrix = to_features([record(), record(mean_radius=17.5, mean_area=np.float32(2.5), worst_area=7)])
    assert matrix.shape == (2, 30)
    assert matrix[1, 0] == pytest.approx(17.5)
    assert matrix[1, FEATURES.index("mean_area")] == pytest.approx(2.5)
    assert matrix[1, FEATURES.index("worst_area")] == 7.0
    assert matrix[0].tolist() == [float(i) for i in range(30)]


def test_to_features_empty_batch() -> None:
    matrix = to_features([])
    assert matrix.shape == (0, 30) and matrix.dtype == np.float32


def test_missing_feature_names_record_and_field() -> None:
    broken = record()
    del broken["worst_area"]
    with pytest.raises(ValueError, match="record 1: missing feature 'worst_area'"):
        to_features([record(), broken])


def test_several_missing_features_are_all_named() -> None:
    broken = {k: v for k, v in record().items() if not k.startswith("worst_")}
    with pytest.raises(ValueError, match="missing features 'worst_radius', 'worst_texture'"):
        to_features([broken])


def test_unknown_feature_is_rejected() -> None:
    with pytest.raises(ValueError, match="record 0: unknown feature 'age'"):
        to_features([{**record(), "age": 40.0}])


@pytest.mark.parametrize("value", ["12.5", None, True, [1.0]])
def test_non_numeric_values_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="record 0: feature 'mean_texture' must be a number"):
        to_features([record(mean_texture=value)])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300])
def test_values_not_finite_in_float32_are_rejected(value: float) -> None:
    with pytest.raises(ValueError, match="feature 'mean_area' is not finite"):
        to_features([record(mean_area=value)])


def test_a_record_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ValueError, match="record 0: expected a mapping"):
        to_features([[0.0] * 30])  # type: ignore[list-item]


def test_postprocess_picks_the_likelier_class() -> None:
    answers = postprocess(np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32))
    assert [a["label"] for a in answers] == ["malignant", "benign"]
    assert answers[0]["confidence"] == pytest.approx(0.9)
    assert answers[1]["confidence"] == pytest.approx(0.8)
    assert all(isinstance(a["confidence"], float) for a in answers)


def test_postprocess_class_order_matches_the_dataset() -> None:
    # scikit-learn's breast-cancer target: 0 is malignant, 1 benign.
    assert LABELS == ("malignant", "benign")
    assert postprocess(np.array([[0.0, 1.0]]))[0]["label"] == "benign"


def test_postprocess_empty_batch() -> None:
    assert postprocess(np.zeros((0, 2), dtype=np.float32)) == []


@pytest.mark.parametrize("shape", [(2,), (3, 3), (1, 1)])
def test_postprocess_rejects_wrong_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        postprocess(np.full(shape, 0.5))


def test_postprocess_rejects_nan() -> None:
    with pytest.raises(ValueError, match="row 1: probabilities are not finite"):
        postprocess(np.array([[0.5, 0.5], [np.nan, np.nan]]))
