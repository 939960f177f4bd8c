"""PSI against hand-computed values; Bonferroni and Benjamini–Hochberg adjustments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlpipex.drift import EPSILON, Reference, adjust_pvalues, detect_drift, psi
from mlpipex.drift._psi import binned_shares


def test_psi_of_two_buckets_by_hand() -> None:
    # (0.6 - 0.5) ln(0.6/0.5) + (0.4 - 0.5) ln(0.4/0.5)
    expected = 0.1 * math.log(1.2) + (-0.1) * math.log(0.8)
    assert psi(np.array([0.5, 0.5]), np.array([0.6, 0.4])) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.040546, abs=1e-6)


def test_psi_of_identical_shares_is_zero_and_symmetric() -> None:
    shares = np.array([0.2, 0.3, 0.5, 0.0])
    assert psi(shares, shares) == 0.0
    a, b = np.array([0.1, 0.2, 0.7]), np.array([0.3, 0.3, 0.4])
    assert psi(a, b) == pytest.approx(psi(b, a), rel=1e-12)


def test_empty_bucket_counts_as_epsilon() -> None:
    # the reference never saw bucket 2: its share counts as EPSILON = 1e-4
    expected = (0.5 - 0.6) * math.log(0.5 / 0.6) + (0.3 - 0.4) * math.log(0.3 / 0.4) + \
        (0.2 - EPSILON) * math.log(0.2 / EPSILON)  # fmt: skip
    assert psi(np.array([0.6, 0.4, 0.0]), np.array([0.5, 0.3, 0.2])) == pytest.approx(expected, rel=1e-12)
    assert EPSILON == 1e-4


def test_binned_shares_use_right_closed_bins() -> None:
    values = np.sort(np.array([0.0, 1.0, 1.0, 2.0, 3.0, 10.0]))
    shares = binned_shares(values, np.array([1.0, 2.5]))
    assert shares.tolist() == pytest.approx([3 / 6, 1 / 6, 2 / 6])


def test_categorical_psi_with_an_unseen_category_by_hand() -> None:
    reference = {"c": np.array(["a"] * 50 + ["b"] * 50, dtype=object)}
    current = {"c": np.array(["a"] * 40 + ["b"] * 40 + ["new"] * 20, dtype=object)}
    report = detect_drift(Reference.from_columns(reference, ["c"]), current)
    [feature] = report.features
    expected = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - EPSILON) * math.log(0.2 / EPSILON)
    assert feature.psi == pytest.approx(expected, rel=1e-12)
    assert [b["label"] for b in feature.buckets] == ["a", "b", "(unseen)"]
    assert feature.drifted is True and feature.level == "alert" and feature.p_value is None


def test_categories_compare_as_text() -> None:
    # 1.0 read from CSV and "1" from Parquet are the same category, as in the profile
    reference = {"c": np.array([1.0, 2.0] * 100)}
    current = {"c": np.array(["1", "2"] * 100, dtype=object)}
    [feature] = detect_drift(Reference.from_columns(reference, ["c"]), current).features
    assert feature.psi == 0.0


def test_bonferroni_multiplies_by_the_number_of_tests() -> None:
    p = np.array([0.01, 0.04, 0.3])
    assert adjust_pvalues(p, "bonferroni").tolist() == pytest.approx([0.03, 0.12, 0.9])
    assert adjust_pvalues(np.array([0.5, 0.6]), "bonferroni").tolist() == [1.0, 1.0]


def test_benjamini_hochberg_by_hand() -> None:
    # sorted: 0.01*4/1 = 0.04, 0.02*4/2 = 0.04, 0.03*4/3 = 0.04, 0.5*4/4 = 0.5 (then min from the right)
    p = np.array([0.5, 0.03, 0.01, 0.02])
    assert adjust_pvalues(p, "bh").tolist() == pytest.approx([0.5, 0.04, 0.04, 0.04])
    # monotone step-up: a larger p never gets a smaller adjusted value
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    adjusted = adjust_pvalues(p, "bh")
    assert adjusted.tolist() == pytest.approx([0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.0845714, 0.205],
                                              rel=1e-5)  # fmt: skip
    assert adjust_pvalues(p, "none").tolist() == p.tolist()
