import numpy as np
import pytest

from quickstart.preprocessing import FEATURES, LABELS, postprocess, to_features


def record(**overrides: float) -> dict[str, float]:
    values = {name: float(i) for i, name in enumerate(FEATURES)}
    values.update(overrides)
    return values


def test_thirty_features_in_training_order():
    assert len(FEATURES) == 30 and len(set(FEATURES)) == 30
    assert FEATURES[0] == "mean_radius" and FEATURES[-1] == "worst_fractal_dimension"


def test_to_features_orders_columns_by_name_not_by_insertion():
    shuffled = dict(reversed(list(record().items())))
    matrix = to_features([shuffled])
    assert matrix.dtype == np.float32 and matrix.shape == (1, 30)
    assert matrix[0].tolist() == [float(i) for i in range(30)]


def test_to_features_many_records():
    matrix = to_features([record(), record(mean_radius=17.5)])
    assert matrix.shape == (2, 30)
    assert matrix[1, 0] == pytest.approx(17.5)


def test_to_features_empty_batch():
    assert to_features([]).shape == (0, 30)


def test_missing_feature_names_record_and_field():
    broken = record()
    del broken["worst_area"]
    with pytest.raises(ValueError, match="record 1: missing feature 'worst_area'"):
        to_features([record(), broken])


def test_unknown_feature_is_rejected():
    with pytest.raises(ValueError, match="unknown feature 'age'"):
        to_features([{**record(), "age": 40.0}])


@pytest.mark.parametrize("value", ["12.5", None, True])
def test_non_numeric_values_are_rejected(value):
    with pytest.raises(ValueError, match="must be a number"):
        to_features([record(mean_texture=value)])


def test_non_finite_values_are_rejected():
    with pytest.raises(ValueError, match="not finite"):
        to_features([record(mean_area=float("nan"))])


def test_postprocess_picks_the_likelier_class():
    answers = postprocess(np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32))
    assert [a["label"] for a in answers] == ["malignant", "benign"]
    assert answers[0]["confidence"] == pytest.approx(0.9)
    assert answers[1]["confidence"] == pytest.approx(0.8)


def test_postprocess_labels_match_the_dataset():
    assert LABELS == ("malignant", "benign")


def test_postprocess_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        postprocess(np.array([0.1, 0.9]))
