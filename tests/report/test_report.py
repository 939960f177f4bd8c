"""report.json, report.md, junit.xml and the console table, from hand-built reports."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from mlpipex.gates.result import GateResult, Measurement, ModelInfo, Report, Status
from mlpipex.report import (
    marker_for,
    render_console,
    render_json,
    render_junit,
    render_markdown,
    write_reports,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "core" / "report" / "report.schema.json").read_text())
HOSTILE = "a|b `tick` <script>alert(1)</script> ]]> \x00\x07 end\nsecond line"


def make_report(*gates: GateResult) -> Report:
    return Report(
        model=ModelInfo("fraud", "2.0.0", "models/model.onnx", sha256="ab" * 32, size_bytes=1234),
        baseline=ModelInfo("fraud", "baseline", "models/baseline.onnx"),
        gates=list(gates),
        started_at="2026-11-28T18:00:00+00:00",
        duration_s=3.2,
        environment={"mlpipex": "0.1.0", "python": "3.11.7", "onnxruntime": "1.32.0"},
        config_path="mlpipex.yaml",
    )


def latency_gate(status: Status = Status.PASS) -> GateResult:
    ms = [Measurement(f"p{q}", v, "ms", threshold=f"<= {lim} ms", status=status, group="batch=1",
                      ci_low=v * 0.9, ci_high=v * 1.1) for q, v, lim in ((50, 1.2, 2), (99, 3.5, 10))]  # fmt: skip
    return GateResult("latency", status, "within SLA", ms, details={"confidence": 0.95}, duration_s=0.5)


def compare_gate() -> GateResult:
    ms = [Measurement("auc", 0.97, baseline=0.95, threshold="regression <= 0.01", status=Status.PASS),
          Measurement("log_loss", 0.2, baseline=0.25)]  # fmt: skip
    return GateResult("compare", Status.PASS, "no regression", ms)


def every_status() -> Report:
    return make_report(
        GateResult("schema", Status.PASS, "valid", [Measurement("size", 0.1, "MB")]),
        GateResult("unit", Status.FAIL, "2 of 3 tests failed",
                   [Measurement("failures", 2, threshold="== 0", status=Status.FAIL)],
                   details={"failed_tests": [{"name": "t.a", "message": "boom"}], "command": ["pytest"],
                            "output_tail": "```\nnested fence\n```"}),
        latency_gate(Status.WARN),
        GateResult("compare", Status.SKIP, "no baseline"),
        GateResult("skew", Status.ERROR, "could not run", error_exit_code=2),
        GateResult("custom-gate", Status.PASS, HOSTILE, [Measurement(HOSTILE, HOSTILE)]),
    )  # fmt: skip


def test_json_validates_against_the_schema_and_round_trips():
    report = every_status()
    data = json.loads(render_json(report))
    jsonschema.validate(data, SCHEMA)
    assert data["verdict"] == "fail" and data["exit_code"] == 1
    assert [g["gate"] for g in data["gates"]] == [g.gate for g in report.gates]
    assert data["gates"][2]["measurements"][0]["ci_low"] == pytest.approx(1.08)


def test_json_has_no_nan():
    report = make_report(GateResult("smoke", Status.FAIL, "x", [Measurement("auc", float("nan"))],
                                    details={"metrics": {"auc": float("nan")}}))  # fmt: skip
    text = render_json(report)
    assert "NaN" not in text
    data = json.loads(text)
    assert data["gates"][0]["measurements"][0]["value"] is None
    jsonschema.validate(data, SCHEMA)


def test_schema_rejects_a_wrong_report():
    data = json.loads(render_json(every_status()))
    data["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_markdown_marker_summary_and_sections():
    text = render_markdown(every_status())
    assert text.startswith(marker_for("fraud"))
    assert "❌ mlpipex: `fraud@2.0.0` failed" in text
    assert "| unit | ❌ fail | 2 of 3 tests failed |" in text
    assert text.count("<details") == text.count("</details>")
    assert "<details open><summary>❌ <b>unit</b>" in text  # failures are expanded
    assert "- `t.a`: boom" in text
    assert "````text\n```\nnested fence\n```\n````" in text  # a fence never closes early


def test_markdown_escapes_hostile_text():
    text = render_markdown(every_status())
    assert "<script>" not in text
    assert "a\\|b \\`tick\\`" in text
    assert "\x00" not in text and "\x07" not in text
    row = next(line for line in text.splitlines() if line.startswith("| custom-gate"))
    assert row.count("|") - row.count("\\|") == 5  # the cell did not split the table


def test_latency_chart_only_with_data():
    with_chart = render_markdown(make_report(latency_gate()))
    assert "```mermaid\nxychart-beta" in with_chart and "% of the SLA" in with_chart
    bars = re.search(r"bar \[([^\]]*)\]", with_chart).group(1)
    assert [float(v) for v in bars.split(",")] == [pytest.approx(60.0), pytest.approx(35.0)]
    without = render_markdown(make_report(GateResult("schema", Status.PASS, "ok")))
    assert "mermaid" not in without


def test_compare_chart_shows_unit_scale_metrics_with_baseline():
    text = render_markdown(make_report(compare_gate()))
    assert 'x-axis ["auc"]' in text and "bar [0.97]" in text and "line [0.95]" in text
    assert "| auc | 0.97 | 0.95 |" in text  # baseline column appears


def test_markdown_stays_under_the_limit_and_says_what_it_cut():
    failed = [{"name": f"tests.test_{i}", "message": "x" * 10_000} for i in range(3000)]
    huge = make_report(GateResult("unit", Status.FAIL, "y" * 10_000,
                                  [Measurement(f"m{i}", i) for i in range(5000)],
                                  details={"failed_tests": failed, "output_tail": "z" * 100_000}))  # fmt: skip
    text = render_markdown(huge, max_chars=65_000)
    assert len(text) <= 65_000
    assert "truncated" in text and "report.json" in text
    assert text.count("```") % 2 == 0


def test_junit_counts_and_elements():
    root = ET.fromstring(render_junit(every_status()))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "1", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["unit"].find("failure").get("message") == "2 of 3 tests failed"
    assert cases["skew"].find("error") is not None
    assert cases["compare"].find("skipped") is not None
    assert "WARNING" in cases["latency"].find("system-out").text
    assert "\x00" not in render_junit(every_status())


def test_console_plain_and_coloured():
    plain = render_console(every_status(), color=False)
    assert "\x1b[" not in plain
    assert "verdict: FAIL" in plain and "exit 1" in plain
    assert all(len(line) < 140 for line in plain.splitlines())
    assert "\x1b[31m" in render_console(every_status(), color=True)


def test_write_reports_and_step_summary(tmp_path):
    summary = tmp_path / "summary.md"
    paths = write_reports(make_report(latency_gate()), tmp_path / "out", step_summary=summary)
    assert json.loads(paths.json.read_text())["verdict"] == "pass"
    assert paths.markdown.read_text() in summary.read_text()
    ET.parse(paths.junit)
    assert not list((tmp_path / "out").glob(".*.tmp"))
