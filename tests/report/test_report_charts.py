"""Mermaid charts in report.md: drawn only from data that exists, parseable by mermaid."""

from __future__ import annotations

from dataclasses import replace

from _report_fixtures import (
    check_xychart,
    compare_gate,
    latency_gate,
    make_report,
    mermaid_blocks,
    passing_report,
    schema_gate,
    smoke_gate,
)

from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.report import render_markdown


def test_latency_chart_per_batch_size_with_intervals_and_sla() -> None:
    blocks = mermaid_blocks(render_markdown(make_report(latency_gate())))
    assert len(blocks) == 2
    assert 'title "Latency at batch 1 (ms)"' in blocks[0] and 'title "Latency at batch 64 (ms)"' in blocks[1]
    labels, bars, lines = check_xychart(blocks[0])
    assert labels == ["p50", "p95", "p99"]
    assert bars == [[0.0231, 0.0619, 0.0777]]
    # Issue 20: sub-millisecond bars under a 2-10 ms SLA: the axis fits the data (the bars
    # were a pixel high on an axis up to 15 ms) and the SLA, off this scale, is named instead
    assert lines == [[0.0243, 0.068, 0.127]]  # CI upper bounds
    assert 'y-axis "ms" 0 --> 0.15\n' in blocks[0]
    _, _, lines = check_xychart(blocks[1])
    assert len(lines) == 1


def test_an_sla_near_the_data_is_drawn_as_a_line() -> None:
    # batch 64 only limits p99: p50 and p95 are bounded by it (p50 <= p95 <= p99 <= 0.3 ms)
    gate = latency_gate()
    gate = replace(gate, measurements=tuple(replace(m, limit=0.3 if m.limit == 20.0 else m.limit) for m in gate.measurements))
    blocks = mermaid_blocks(render_markdown(make_report(gate)))
    _, _, lines = check_xychart(blocks[1])
    assert lines[1] == [0.3, 0.3, 0.3]
    assert 'y-axis "ms" 0 --> 0.35\n' in blocks[1]


def test_latency_caption_names_the_series() -> None:
    text = render_markdown(make_report(latency_gate()))
    assert ("<sub>bars: estimate · orange line: upper end of the 95% interval · SLA 2–10 ms, off this scale: "
            "129× the highest bar (0.0777 ms)</sub>") in text  # fmt: skip
    assert "SLA 20 ms, off this scale: 165× the highest bar (0.121 ms)" in text


def test_latency_chart_without_an_sla_on_the_top_percentile_draws_no_sla_line() -> None:
    ms = [Measurement("p50", 1.0, "ms", threshold="<= 2 ms", limit=2.0, group="batch=1", ci_low=0.9, ci_high=1.1),
          Measurement("p99", 3.0, "ms", group="batch=1", ci_low=2.5, ci_high=4.0)]  # fmt: skip
    text = render_markdown(make_report(GateResult("latency", Status.PASS, "ok", ms)))
    (block,) = mermaid_blocks(text)
    _, bars, lines = check_xychart(block)
    assert bars == [[1.0, 3.0]] and lines == [[1.1, 4.0]]
    assert "no SLA for every percentile here" in text


def test_the_sla_line_is_the_number_the_gate_recorded_not_its_text() -> None:
    """Issue 13: the chart reads Measurement.limit; the threshold text is for people (it used to be
    parsed back with a regex, so a differently worded threshold lost its SLA line)."""
    ms = [Measurement("p50", 1.0, "ms", threshold="SLA: at most 2 ms", limit=2.0, group="batch=1", ci_low=0.9, ci_high=1.1),
          Measurement("p99", 3.0, "ms", threshold="SLA: at most 5 ms", limit=5.0, group="batch=1", ci_low=2.5, ci_high=4.0)]  # fmt: skip
    (block,) = mermaid_blocks(render_markdown(make_report(GateResult("latency", Status.PASS, "ok", ms))))
    _, bars, lines = check_xychart(block)
    assert bars == [[1.0, 3.0]] and [2.0, 5.0] in lines


def test_tiny_and_large_latencies_use_plain_decimals() -> None:
    ms = [Measurement("p50", 0.0000123, "ms", threshold="<= 1e-4 ms", limit=1e-4, ci_low=0.00001, ci_high=0.0000151),
          Measurement("p99", 12345.678, "ms", ci_low=12000.0, ci_high=13000.0)]  # fmt: skip
    (block,) = mermaid_blocks(render_markdown(make_report(GateResult("latency", Status.PASS, "ok", ms))))
    _, bars, _ = check_xychart(block)  # fails on 1.23e-05
    assert bars == [[0.0000123, 12346.0]]
    assert "e-0" not in block and "e+0" not in block


def test_compare_chart_candidate_bars_against_baseline_line() -> None:
    (block,) = mermaid_blocks(render_markdown(make_report(compare_gate())))
    labels, bars, lines = check_xychart(block)
    assert labels == ["accuracy", "auc", "log_loss"]  # latency_ratio has a unit: not a metric
    assert bars == [[0.977, 0.988, 0.111]] and lines == [[0.86, 0.977, 0.404]]
    assert 'y-axis "value" 0 --> 1' in block


def test_regression_metrics_get_their_own_scale() -> None:
    ms = [Measurement("r2", 0.91, baseline=0.88), Measurement("mae", 2.5, baseline=3.1),
          Measurement("rmse", 4.2, baseline=5.0)]  # fmt: skip
    blocks = mermaid_blocks(render_markdown(make_report(GateResult("compare", Status.PASS, "ok", ms))))
    assert len(blocks) == 2
    assert check_xychart(blocks[0])[0] == ["r2"]
    labels, bars, lines = check_xychart(blocks[1])
    assert labels == ["mae", "rmse"] and bars == [[2.5, 4.2]] and lines == [[3.1, 5.0]]
    assert 'y-axis "value" 0 --> 5.5' in blocks[1]


def test_negative_metrics_chart_below_zero() -> None:
    ms = [Measurement("r2", -0.5, baseline=0.2), Measurement("mae", 2.5, baseline=3.1)]
    (block,) = mermaid_blocks(render_markdown(make_report(GateResult("compare", Status.PASS, "ok", ms))))
    check_xychart(block)
    assert 'y-axis "value" -0.55 --> 3.5' in block


def test_compare_chart_falls_back_to_the_metric_dicts() -> None:
    gate = GateResult("compare", Status.PASS, "ok", details={
        "candidate_metrics": {"auc": 0.95, "f1": float("nan")}, "baseline_metrics": {"auc": 0.94, "f1": 0.9}})  # fmt: skip
    (block,) = mermaid_blocks(render_markdown(make_report(gate)))
    labels, bars, lines = check_xychart(block)
    assert (labels, bars, lines) == (["auc"], [[0.95]], [[0.94]])


def test_no_chart_without_data() -> None:
    assert mermaid_blocks(render_markdown(make_report(schema_gate(), smoke_gate()))) == []
    skipped = GateResult("compare", Status.SKIP, "no baseline configured")
    errored = GateResult("latency", Status.ERROR, "model did not load", error_exit_code=2)
    assert mermaid_blocks(render_markdown(make_report(skipped, errored))) == []
    no_baseline = GateResult("compare", Status.PASS, "ok", [Measurement("auc", 0.9)])
    assert mermaid_blocks(render_markdown(make_report(no_baseline))) == []
    nan_latency = GateResult("latency", Status.FAIL, "x", [Measurement("p50", float("nan"), "ms")])
    assert mermaid_blocks(render_markdown(make_report(nan_latency))) == []


def test_every_chart_of_a_realistic_report_parses() -> None:
    blocks = mermaid_blocks(render_markdown(passing_report()))
    assert len(blocks) == 3
    for block in blocks:
        assert block.startswith('%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#4e79a7')
        check_xychart(block)


def test_hostile_metric_names_cannot_escape_the_chart() -> None:
    ms = [Measurement('x"]\n```\n<b>', 0.5, baseline=0.4)]
    text = render_markdown(make_report(GateResult("compare", Status.PASS, "ok", ms)))
    (block,) = mermaid_blocks(text)
    labels, _, _ = check_xychart(block)
    assert labels == ["x\u02ba] ``` \u2039b>"]  # one line, so the fence cannot end; no quote to end the label
