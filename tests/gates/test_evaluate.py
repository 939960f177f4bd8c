"""The gates' pure verdicts: numbers in, status out."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipex.config.model import CompareConfig, LatencySla, RegressionLimit, SkewConfig
from mlpipex.gates import compare, latency, schema, skew, smoke, unit
from mlpipex.gates.result import Status
from mlpipex.runtime import TensorInfo
from mlpipex.stats.percentiles import Interval

# --- latency -----------------------------------------------------------------------


def interval(low: float, high: float) -> Interval:
    return Interval(estimate=(low + high) / 2, low=low, high=high, confidence=0.95)


@pytest.mark.parametrize(
    ("low", "high", "limit", "expected"),
    [(1.0, 1.5, 2.0, Status.PASS), (1.5, 2.5, 2.0, Status.WARN), (2.1, 2.5, 2.0, Status.FAIL),
     (1.0, 2.0, 2.0, Status.PASS), (1.0, 1.5, None, None)],
)  # fmt: skip
def test_latency_judge(low, high, limit, expected):
    assert latency.judge(interval(low, high), limit) is expected


def test_latency_evaluate_fast_model_passes():
    rng = np.random.default_rng(0)
    samples = {1: rng.normal(0.5, 0.02, 400), 64: rng.normal(2.0, 0.1, 400)}
    sla = [LatencySla(batch_size=1, p50=1.0, p99=2.0), LatencySla(batch_size=64, p99=5.0)]
    result = latency.evaluate(samples, sla, resamples=200)
    assert result.status is Status.PASS
    assert len(result.measurements) == 6
    p50 = next(m for m in result.measurements if m.name == "p50" and m.group == "batch=1")
    assert p50.ci_low <= p50.value <= p50.ci_high
    assert abs(p50.value - 0.5) < 0.01
    assert p50.threshold == "<= 1 ms" and p50.status is Status.PASS
    unjudged = next(m for m in result.measurements if m.name == "p50" and m.group == "batch=64")
    assert unjudged.status is None and unjudged.threshold is None


def test_latency_evaluate_slow_model_fails_and_close_call_warns():
    rng = np.random.default_rng(1)
    slow = latency.evaluate({1: rng.normal(5.0, 0.1, 400)}, [LatencySla(batch_size=1, p50=2.0)], resamples=200)
    assert slow.status is Status.FAIL and "p50 at batch 1" in slow.message
    close = latency.evaluate({1: rng.normal(2.0, 0.5, 400)}, [LatencySla(batch_size=1, p50=2.0)], resamples=200)
    assert close.status is Status.WARN and "too close to call" in close.message


def test_batch_rows_cycles_small_holdouts():
    features = np.arange(6, dtype=float).reshape(3, 2)
    assert latency.batch_rows(features, 2).shape == (2, 2)
    cycled = latency.batch_rows(features, 7)
    assert cycled.shape == (7, 2) and np.array_equal(cycled[3], features[0])


# --- smoke -------------------------------------------------------------------------


def test_smoke_thresholds():
    ok = smoke.evaluate({"accuracy": 0.95, "auc": 0.99}, {"accuracy": ">= 0.9", "auc": ">= 0.98"}, rows=10, bad_rows=0)
    assert ok.status is Status.PASS and "accuracy 0.9500" in ok.message
    bad = smoke.evaluate({"accuracy": 0.85, "auc": 0.99}, {"accuracy": ">= 0.9"}, rows=10, bad_rows=0)
    assert bad.status is Status.FAIL and "accuracy 0.8500 (needs >= 0.9)" in bad.message


def test_smoke_nan_outputs_fail_whatever_the_thresholds():
    result = smoke.evaluate({}, {}, rows=10, bad_rows=3)
    assert result.status is Status.FAIL and "3 of 10 rows" in result.message


def test_smoke_uncomputable_metric_fails():
    result = smoke.evaluate({"accuracy": 0.9, "auc": float("nan")}, {"auc": ">= 0.5"}, rows=10, bad_rows=0)
    assert result.status is Status.FAIL
    assert next(m for m in result.measurements if m.name == "auc").value is None


def test_non_finite_counts_rows():
    from mlpipex.runtime import Predictions

    probs = np.array([[0.1, 0.9], [np.nan, np.nan], [0.5, np.inf]])
    assert smoke.non_finite(Predictions(probabilities=probs)) == 2
    assert smoke.non_finite(Predictions(values=np.array([1.0, 2.0]))) == 0


# --- compare -----------------------------------------------------------------------


def test_regression_direction():
    assert compare.regression("auc", 0.90, 0.95) == pytest.approx(0.05)
    assert compare.regression("log_loss", 0.30, 0.20) == pytest.approx(0.10)
    assert compare.regression("rmse", 1.0, 2.0) == pytest.approx(-1.0)


def test_compare_absolute_and_relative_limits():
    settings = CompareConfig(metrics={"auc": RegressionLimit(max_regression=0.01),
                                      "log_loss": RegressionLimit(max_regression="10%")})  # fmt: skip
    ok = compare.evaluate({"auc": 0.985, "log_loss": 0.21}, {"auc": 0.99, "log_loss": 0.2}, settings)
    assert ok.status is Status.PASS
    worse = compare.evaluate({"auc": 0.97, "log_loss": 0.23}, {"auc": 0.99, "log_loss": 0.2}, settings)
    assert worse.status is Status.FAIL
    assert "auc 0.9700 vs baseline 0.9900" in worse.message and "log_loss" in worse.message
    auc = next(m for m in worse.measurements if m.name == "auc")
    assert auc.baseline == 0.99 and auc.status is Status.FAIL


def test_compare_exact_limit_passes():
    settings = CompareConfig(metrics={"accuracy": RegressionLimit(max_regression=0.1)})
    assert compare.evaluate({"accuracy": 0.8}, {"accuracy": 0.9}, settings).status is Status.PASS


def test_compare_latency_ratio():
    settings = CompareConfig()
    slow = compare.evaluate({}, {}, settings, latency_ratio=interval(1.4, 1.6))
    assert slow.status is Status.FAIL and "1.50×" in slow.message
    close = compare.evaluate({}, {}, settings, latency_ratio=interval(1.1, 1.4))
    assert close.status is Status.WARN
    fine = compare.evaluate({}, {}, settings, latency_ratio=interval(0.9, 1.1))
    assert fine.status is Status.PASS


def test_compare_no_baseline():
    assert compare.no_baseline(CompareConfig()).status is Status.SKIP
    assert compare.no_baseline(CompareConfig(require_baseline=True)).status is Status.FAIL


# --- skew --------------------------------------------------------------------------


def test_skew_scores_and_labels():
    settings = SkewConfig(max_abs_diff=1e-4, max_label_mismatch_rate=0.0)
    expected = np.array([0.1, 0.5, 0.9])
    same = skew.evaluate(settings, expected_scores=expected, actual_scores=expected + 1e-6,
                         expected_labels=np.array([0.0, 1.0, 1.0]), actual_labels=np.array([0, 1, 1]))  # fmt: skip
    assert same.status is Status.PASS
    off = skew.evaluate(settings, expected_scores=expected, actual_scores=expected + np.array([0, 0.02, 0]),
                        expected_labels=np.array([0, 1, 1]), actual_labels=np.array([0, 0, 1]))  # fmt: skip
    assert off.status is Status.FAIL
    assert "up to 0.02" in off.message and "1 of 3 labels differ" in off.message
    assert off.details["worst_rows"][0]["row"] == 1


def test_skew_nan_is_maximal():
    settings = SkewConfig(max_abs_diff=1.0)
    result = skew.evaluate(settings, expected_scores=np.array([0.5]), actual_scores=np.array([np.nan]),
                           expected_labels=None, actual_labels=None)  # fmt: skip
    assert result.status is Status.FAIL


# --- schema ------------------------------------------------------------------------


def test_compare_tensors():
    from mlpipex.config.model import TensorSpec

    declared = [TensorSpec(name="x", dtype="float32", shape=["batch", 30])]
    good = [TensorInfo("x", "float32", ("N", 30))]
    assert all(c.ok for c in schema.compare_tensors("inputs", declared, good))
    narrow = schema.compare_tensors("inputs", declared, [TensorInfo("x", "float32", ("N", 29))])
    assert not narrow[0].ok and "declared 30, the graph has 29" in narrow[0].message
    typed = schema.compare_tensors("inputs", declared, [TensorInfo("x", "float64", ("N", 30))])
    assert "declared float32, the graph has float64" in typed[0].message
    renamed = schema.compare_tensors("inputs", declared, [TensorInfo("input", "float32", ("N", 30))])
    assert "declared ['x'], the graph has ['input']" in renamed[0].message
    rank = schema.compare_tensors("inputs", declared, [TensorInfo("x", "float32", (30,))])
    assert "rank" in rank[0].message


def test_schema_evaluate_size_limit():
    checks = [schema.Check("onnx.checker", True, "ok")]
    big = schema.evaluate(checks, size_bytes=60_000_000, sha256="ab", max_size_mb=50)
    assert big.status is Status.FAIL and "60 MB (limit 50 MB)" in big.message
    assert schema.evaluate(checks, size_bytes=1000, sha256="ab", max_size_mb=50).status is Status.PASS


# --- unit --------------------------------------------------------------------------


def test_parse_junit_counts(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="a">'
        '<testcase classname="t" name="ok"/>'
        '<testcase classname="t" name="bad"><failure message="assert 1 == 2">trace</failure></testcase>'
        '<testcase classname="t" name="boom"><error message="ImportError"/></testcase>'
        '<testcase classname="t" name="later"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    counts = unit.parse_junit(report)
    assert (counts.tests, counts.failures, counts.errors, counts.skipped) == (4, 1, 1, 1)
    assert counts.failed_tests[0] == {"name": "t.bad", "message": "assert 1 == 2"}
    result = unit.evaluate(counts, exit_code=1, timed_out=None)
    assert result.status is Status.FAIL and "2 of 4 tests failed (first: t.bad)" in result.message


def test_unit_zero_tests_and_timeouts_fail():
    assert unit.evaluate(unit.JUnitCounts(), exit_code=0, timed_out=None).status is Status.FAIL
    timed = unit.evaluate(unit.JUnitCounts(tests=3), exit_code=None, timed_out=5)
    assert timed.status is Status.FAIL and "timed out after 5 s" in timed.message
    odd = unit.evaluate(unit.JUnitCounts(tests=3), exit_code=2, timed_out=None)
    assert odd.status is Status.FAIL and "exited with 2" in odd.message
    assert unit.evaluate(unit.JUnitCounts(tests=3), exit_code=0, timed_out=None).status is Status.PASS


def test_labels_the_metrics_cannot_score_are_bad_input_not_a_bug():
    from mlpipex.errors import InputError
    from mlpipex.gates.smoke import compute_metrics
    from mlpipex.runtime import Predictions

    predictions = Predictions(labels=np.array([0, 1, 1]), probabilities=np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]), classes=(0, 1))
    with pytest.raises(InputError) as caught:
        compute_metrics("classification", np.array([0.0, 1.0, np.nan]), predictions)
    assert caught.value.exit_code == 2
    assert "data.label" in str(caught.value)
    with pytest.raises(InputError, match="positive_label"):
        compute_metrics("classification", np.array([0, 1, 1]), predictions, positive_label="yes")
