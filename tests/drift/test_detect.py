"""detect_drift: known shifts found, no false alarms beyond alpha, nulls and small samples handled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from mlpipex.config.model import MonitoringConfig
from mlpipex.drift import DriftSettings, Reference, detect_drift
from mlpipex.errors import InputError


def _table(rng: np.random.Generator, n: int, shift: float = 0.0, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {
        "age": rng.normal(40 + shift * 10, 10 * scale, n),
        "income": rng.lognormal(10 + shift, 1, n),
        "score": rng.uniform(0, 1, n),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2]).astype(object),
    }


def test_a_mean_shift_is_detected_and_only_there() -> None:
    rng = np.random.default_rng(0)
    reference = Reference.from_columns(_table(rng, 5000), categorical=["city"])
    current = _table(rng, 3000)
    current["age"] = current["age"] + 2.0  # a fifth of a standard deviation
    report = detect_drift(reference, current)
    assert report.verdict == "drift" and report.drifted
    assert [f.name for f in report.drifted_features] == ["age"]
    age = report.features[0]
    assert age.test == "ks" and age.kind == "continuous" and age.adjusted_p_value is not None
    assert age.adjusted_p_value < 1e-6 and age.threshold == 0.05
    expected = stats.ks_2samp(reference.features["age"].sorted_values, current["age"])  # type: ignore[union-attr]
    assert age.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert age.p_value == pytest.approx(expected.pvalue, abs=1e-9)


def test_a_variance_change_and_a_category_shift_are_detected() -> None:
    rng = np.random.default_rng(1)
    reference = Reference.from_columns(_table(rng, 5000), categorical=["city"])
    current = _table(rng, 2000, scale=1.3)
    current["city"] = rng.choice(["paris", "lyon", "nice"], 2000, p=[0.2, 0.3, 0.5]).astype(object)
    report = detect_drift(reference, current)
    drifted = {f.name for f in report.drifted_features}
    assert drifted == {"age", "city"}
    city = next(f for f in report.features if f.name == "city")
    assert city.test == "psi" and city.psi is not None and city.psi > 0.25


def test_psi_between_warn_and_alert_is_a_warning_not_drift() -> None:
    rng = np.random.default_rng(2)
    reference = Reference.from_columns({"c": rng.choice(["a", "b"], 20_000, p=[0.5, 0.5]).astype(object)}, ["c"])
    current = {"c": rng.choice(["a", "b"], 20_000, p=[0.66, 0.34]).astype(object)}
    [feature] = detect_drift(reference, current).features
    assert 0.1 <= feature.psi < 0.25  # type: ignore[operator]
    assert feature.level == "warn" and feature.drifted is False


def test_no_false_alarms_beyond_alpha_on_identical_distributions() -> None:
    """200 seeded runs of 8 continuous features from one distribution: alarms stay within alpha."""
    runs, features, alpha = 200, 8, 0.05
    settings = DriftSettings(alpha=alpha, correction="bh")
    report_alarms = feature_alarms = 0
    for seed in range(runs):
        rng = np.random.default_rng(1000 + seed)
        ref = {f"x{i}": rng.normal(size=400) for i in range(features)}
        cur = {f"x{i}": rng.normal(size=300) for i in range(features)}
        reference = Reference.from_columns(ref)
        report = detect_drift(reference, cur, settings)
        report_alarms += report.drifted
        feature_alarms += sum(f.p_value < alpha for f in report.features)  # type: ignore[operator]
    # Under the complete null BH keeps the family-wise rate at alpha: one alarm per 1/alpha runs at most,
    # within a 99.9% binomial bound. Without correction each feature alarms at (at most) alpha.
    assert report_alarms <= stats.binom.ppf(0.999, runs, alpha)
    tests = runs * features
    assert feature_alarms <= stats.binom.ppf(0.999, tests, alpha)
    assert feature_alarms >= stats.binom.ppf(0.001, tests, alpha / 2)  # the test is not trivially silent


def test_bonferroni_is_more_conservative_than_bh() -> None:
    rng = np.random.default_rng(4)
    ref = {f"x{i}": rng.normal(size=2000) for i in range(10)}
    cur = {f"x{i}": rng.normal(0.12 if i < 4 else 0.0, size=2000) for i in range(10)}
    reference = Reference.from_columns(ref)
    bh = detect_drift(reference, cur, DriftSettings(correction="bh"))
    bonf = detect_drift(reference, cur, DriftSettings(correction="bonferroni"))
    for a, b in zip(bh.features, bonf.features):
        assert b.adjusted_p_value >= a.adjusted_p_value  # type: ignore[operator]
    assert len(bonf.drifted_features) <= len(bh.drifted_features)


def test_too_few_samples_give_no_verdict() -> None:
    rng = np.random.default_rng(5)
    reference = Reference.from_columns(_table(rng, 1000), categorical=["city"])
    current = {k: v[:50] for k, v in _table(rng, 1000, shift=3).items()}
    report = detect_drift(reference, current, DriftSettings(min_samples=100))
    assert report.verdict == "insufficient_data" and not report.drifted
    assert all(f.drifted is None and f.level == "unknown" for f in report.features)
    assert report.features[0].statistic is not None  # still measured, just not judged
    assert report.to_dict()["summary"] == {"features": 4, "tested": 0, "drifted": 0, "insufficient": 4}
    assert detect_drift(reference, current, DriftSettings(min_samples=20)).verdict == "drift"


def test_nulls_are_left_out_of_the_tests_and_reported() -> None:
    rng = np.random.default_rng(6)
    ref = _table(rng, 4000)
    ref["age"][:400] = np.nan
    cur = _table(rng, 4000)
    cur["age"][:2000] = np.nan  # half missing now, the rest distributed as before
    cur["city"][:1000] = None
    reference = Reference.from_columns(ref, categorical=["city"])
    report = detect_drift(reference, cur)
    age, city = report.features[0], report.features[3]
    assert age.n_reference == 3600 and age.n_current == 2000
    assert age.null_rate_reference == pytest.approx(0.1) and age.null_rate_current == pytest.approx(0.5)
    assert age.drifted is False
    assert city.null_rate_current == pytest.approx(0.25) and city.n_current == 3000 and city.drifted is False


def test_missing_columns_are_named() -> None:
    rng = np.random.default_rng(7)
    reference = Reference.from_columns(_table(rng, 200), categorical=["city"])
    current = _table(rng, 200)
    del current["income"], current["city"]
    with pytest.raises(InputError, match="income, city"):
        detect_drift(reference, current)


def test_text_in_a_continuous_column_is_an_input_error() -> None:
    reference = Reference.from_columns({"x": np.arange(200.0)})
    with pytest.raises(InputError, match="`x`"):
        detect_drift(reference, {"x": np.array(["1", "two"] * 100, dtype=object)})


def test_continuous_psi_when_asked() -> None:
    rng = np.random.default_rng(8)
    reference = Reference.from_columns({"x": rng.normal(size=10_000)})
    same = detect_drift(reference, {"x": rng.normal(size=10_000)}, DriftSettings(continuous_psi=True))
    moved = detect_drift(reference, {"x": rng.normal(0.5, size=10_000)}, DriftSettings(continuous_psi=True))
    [f_same], [f_moved] = same.features, moved.features
    assert f_same.test == "psi" and f_same.p_value is None and len(f_same.buckets) == 10
    assert [b["reference"] for b in f_same.buckets] == pytest.approx([0.1] * 10, abs=1e-3)  # deciles
    assert f_same.psi < 0.01 and not f_same.drifted  # type: ignore[operator]
    assert f_moved.psi > 0.25 and f_moved.drifted  # type: ignore[operator]


def test_report_dict_is_json_with_stable_keys() -> None:
    rng = np.random.default_rng(9)
    report = detect_drift(Reference.from_columns(_table(rng, 500), ["city"]), _table(rng, 500))
    data = json.loads(json.dumps(report.to_dict()))
    assert list(data) == ["format", "verdict", "drifted", "summary", "rows", "reference_source", "settings",
                          "features"]  # fmt: skip
    assert data["format"] == "mlpipex.drift/v1" and data["rows"] == {"reference": 500, "current": 500}
    assert set(data["features"][0]) >= {"name", "kind", "test", "statistic", "p_value", "adjusted_p_value", "psi",
                                        "threshold", "drifted", "n_reference", "n_current"}  # fmt: skip


def test_settings_validate_and_come_from_the_config() -> None:
    with pytest.raises(ValueError):
        DriftSettings(alpha=1.5)
    with pytest.raises(ValueError):
        DriftSettings(psi_warn=0.3, psi_alert=0.2)
    with pytest.raises(ValueError):
        DriftSettings(correction="holm")  # type: ignore[arg-type]
    config = MonitoringConfig(alpha=0.01, correction="bonferroni", psi_alert=0.3, min_samples=50,
                              continuous_psi=True, bins=5)  # fmt: skip
    assert DriftSettings.from_config(config) == DriftSettings(alpha=0.01, correction="bonferroni", psi_alert=0.3,
                                                              min_samples=50, continuous_psi=True, bins=5)  # fmt: skip
    assert DriftSettings.from_config(MonitoringConfig(psi_threshold=0.4)).psi_alert == 0.4  # the old name


def test_threads_give_the_same_report_as_one_thread() -> None:
    rng = np.random.default_rng(10)
    ref_columns, cur_columns = _table(rng, 3000), _table(rng, 2000, shift=0.1)
    serial = detect_drift(Reference.from_columns(ref_columns, ["city"], workers=1), cur_columns, workers=1)
    threaded = detect_drift(Reference.from_columns(ref_columns, ["city"], workers=3), cur_columns, workers=3)
    assert threaded.to_dict() == serial.to_dict()


def test_progress_is_reported_per_feature() -> None:
    rng = np.random.default_rng(11)
    calls: list[tuple[str, int, int]] = []
    detect_drift(Reference.from_columns(_table(rng, 300), ["city"]), _table(rng, 300),
                 progress=lambda label, done, total: calls.append((label, done, total)))  # fmt: skip
    assert calls == [("testing features", i, 4) for i in range(1, 5)]


@pytest.mark.parametrize(("correction", "label"), [("bh", "BH-adjusted p"), ("bonferroni", "Bonferroni-adjusted p")])
def test_console_labels_raw_and_adjusted_p_values(correction: str, label: str) -> None:
    """Issue 15 item 9: the console printed the adjusted p-value as a bare "p"."""
    from mlpipex.drift import render_console
    from mlpipex.drift._report import _num

    rng = np.random.default_rng(0)
    reference = Reference.from_columns(_table(rng, 5000), categorical=["city"])
    current = _table(rng, 3000)
    current["age"] = current["age"] + 1.0
    report = detect_drift(reference, current, DriftSettings(correction=correction))  # type: ignore[arg-type]
    age = report.features[0]
    assert age.p_value != age.adjusted_p_value
    [line] = [line for line in render_console(report).splitlines() if " age:" in line]
    assert line.endswith(f"raw p {_num(age.p_value)}, {label} {_num(age.adjusted_p_value)}")
