"""report.md never outgrows a PR comment, and says what it left out."""

from __future__ import annotations

import re

import pytest
from _report_fixtures import (
    check_xychart,
    every_status,
    failing_report,
    make_report,
    mermaid_blocks,
    passing_report,
    unit_gate,
)

from mlpipex.gates.result import GateResult, Measurement, Report, Status
from mlpipex.report import marker_for, render_markdown


def huge_report() -> Report:
    failed = [{"name": f"tests/test_features.py::test_case_{i}", "message": "AssertionError: " + "x" * 10_000}
              for i in range(3000)]  # fmt: skip
    unit = GateResult("unit", Status.FAIL, "3000 of 3000 tests failed: " + "y" * 10_000,
                      [Measurement(f"m{i}", i, threshold="== 0", status=Status.FAIL) for i in range(5000)],
                      details={"failed_tests": failed, "output_tail": "z" * 100_000 + "\n```\n" * 50,
                               "command": ["pytest", "w" * 10_000]})  # fmt: skip
    noisy = [GateResult(f"gate-{i}", Status.WARN, "w" * 10_000, details={"blob": "b" * 10_000}) for i in range(20)]
    return make_report(unit, *noisy)


def _balanced(text: str) -> None:
    assert len(re.findall(r"^<details", text, flags=re.M)) == len(re.findall(r"^</details>$", text, flags=re.M))
    fences = re.findall(r"^(`{3,})", text, flags=re.M)
    assert len(fences) % 2 == 0, fences


def test_a_huge_report_fits_a_github_comment_and_says_what_was_cut() -> None:
    text = render_markdown(huge_report(), max_chars=65_000)
    assert len(text) <= 65_000
    assert text.startswith(marker_for("breast-cancer") + "\n## ❌ `breast-cancer@1.1.0` — 0 passed, 20 warnings, 1 failed")
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith("> ✂️ …truncated: ") and last.endswith("; see report.json for everything.")
    assert re.search(r"\d+ details sections omitted", last)
    _balanced(text)


def test_the_summary_table_survives_truncation() -> None:
    text = render_markdown(huge_report(), max_chars=65_000)
    assert "| unit | ❌ fail | 3000 of 3000 tests failed: yyy" in text
    assert all(f"| gate-{i} | ⚠️ warn |" in text for i in range(20))


@pytest.mark.parametrize("limit", [1_000, 2_500, 10_000, 30_000, 65_000, 200_000])
def test_never_longer_than_max_chars(limit: int) -> None:
    for report in (huge_report(), every_status(), failing_report()):
        text = render_markdown(report, max_chars=limit)
        assert len(text) <= limit
        assert text.startswith(marker_for("breast-cancer"))
        _balanced(text)


def test_details_go_first_largest_first() -> None:
    gate = unit_gate(failed=3)
    gate.details["output_tail"] = "log line\n" * 400  # about 3,600 characters of output
    report = make_report(gate)
    full = render_markdown(report, max_chars=1_000_000)
    text = render_markdown(report, max_chars=len(full) - 1000)
    assert "Output (last lines)" in full and "Output (last lines)" not in text
    assert "<summary>Failed tests (3)</summary>" in text  # smaller blocks stay
    assert "<summary>Command</summary>" in text
    assert "| failures | 3 | == 0 | ❌ fail |" in text  # tables untouched
    assert "…truncated: 1 details section omitted; see report.json for everything." in text


def test_tables_are_shortened_after_the_details_and_details_come_back_if_they_fit() -> None:
    many = GateResult("custom", Status.PASS, "ok", [Measurement(f"metric_{i}", i / 7) for i in range(2000)],
                      details={"note": "n" * 500})  # fmt: skip
    text = render_markdown(make_report(many), max_chars=20_000)
    assert len(text) <= 20_000
    assert "| metric_0 | 0.0000 |" in text and "| metric_1999 |" not in text
    assert re.search(r"_… [\d,]+ more rows in report.json_", text)
    note = text.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"> ✂️ …truncated: [\d,]+ measurement rows omitted; see report.json for everything\.", note)
    assert "<summary>Details</summary>" in text and "<summary>Environment and inputs</summary>" in text


def test_the_failing_gates_details_are_kept_before_the_others() -> None:
    failing = unit_gate(failed=40)
    failing.details["output_tail"] = "o" * 3000
    passing = GateResult("custom", Status.PASS, "ok", details={"blob": "p" * 2500})
    report = make_report(passing, failing)
    full = render_markdown(report, max_chars=1_000_000)
    text = render_markdown(report, max_chars=len(full) - 2000)
    assert "<summary>Failed tests (40)</summary>" in text and "<summary>Output (last lines)</summary>" in text
    assert "<summary>Details</summary>" not in text  # the passing gate's blob gave way


def test_a_report_that_fits_is_not_touched() -> None:
    text = render_markdown(passing_report())
    assert "truncated" not in text
    assert render_markdown(passing_report(), max_chars=len(text)) == text


def test_a_cut_inside_a_code_block_closes_it() -> None:
    gate = GateResult("unit", Status.FAIL, "x", [Measurement(f"line {i}", i) for i in range(300)],
                      details={"output_tail": "\n".join(f"out {i}" for i in range(3000))})  # fmt: skip
    for limit in range(1_000, 9_000, 379):
        text = render_markdown(make_report(gate, *[GateResult(f"g{i}", Status.PASS, "m" * 250) for i in range(40)]),
                               max_chars=limit)  # fmt: skip
        assert len(text) <= limit
        _balanced(text)


def test_max_chars_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1000"):
        render_markdown(passing_report(), max_chars=999)


def test_a_cut_never_leaves_half_a_chart() -> None:
    fillers = [GateResult(f"gate-{i}", Status.PASS, "f" * 120) for i in range(12)]
    report = make_report(*fillers, *passing_report().gates)
    seen_charts = 0
    for limit in range(1_000, 9_000, 53):
        text = render_markdown(report, max_chars=limit)
        assert len(text) <= limit
        for block in mermaid_blocks(text):
            check_xychart(block)
            seen_charts += 1
        _balanced(text)
    assert seen_charts  # some limits did keep charts
