"""report.md: what a reviewer reads in the pull request."""

from __future__ import annotations

import re

from _report_fixtures import (
    compare_gate,
    every_status,
    failing_report,
    latency_gate,
    make_report,
    passing_report,
    unknown_gates,
)

from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.report import marker_for, render_markdown


def _section(text: str, gate: str) -> str:
    """The <details> block of one gate, up to the next gate's."""
    start = text.index(f"<b>{gate}</b>")
    following = [m.start() for m in re.finditer(r"^<details( open)?><summary>\S+ <b>", text, flags=re.M) if m.start() > start]
    return text[start : following[0] if following else len(text)]


def _outside_code(text: str) -> str:
    """The text a renderer would treat as markdown/HTML: fenced blocks and code spans removed."""
    text = re.sub(r"^(`{3,})[^\n]*\n.*?\n\1$", "", text, flags=re.M | re.S)
    return re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", "", text)


def _balanced(text: str) -> None:
    assert len(re.findall(r"^<details", text, flags=re.M)) == len(re.findall(r"^</details>$", text, flags=re.M))
    assert text.count("<summary>") == text.count("</summary>")
    fences = re.findall(r"^(`{3,})", text, flags=re.M)
    assert len(fences) % 2 == 0, fences


def test_marker_first_then_the_verdict_line() -> None:
    text = render_markdown(passing_report())
    lines = text.splitlines()
    assert lines[0] == "<!-- mlpipex:report model=breast-cancer -->" == marker_for("breast-cancer")
    assert lines[1] == "## ✅ `breast-cancer@1.1.0` — 6 passed, 0 warnings, 0 failed"
    assert "mlpipex gates **passed** · exit 0 · 1.3 s · sha256 `dfbd50bdc8f3`" in lines[3]


def test_failing_and_mixed_verdict_lines() -> None:
    assert render_markdown(failing_report()).splitlines()[1] == "## ❌ `breast-cancer@1.1.0` — 4 passed, 0 warnings, 2 failed"
    mixed = render_markdown(every_status()).splitlines()[1]
    assert mixed == "## ❌ `breast-cancer@1.1.0` — 2 passed, 1 warning, 1 failed, 1 error, 1 skipped"


def test_warnings_that_fail_the_run_say_so() -> None:
    text = render_markdown(make_report(latency_gate(Status.WARN), fail_on=Status.WARN))
    assert text.splitlines()[1].startswith("## ⚠️ `breast-cancer@1.1.0` — 0 passed, 1 warning, 0 failed")
    assert "**failed on warnings (fail_on: warn)** · exit 1" in text


def test_summary_table_has_a_row_per_gate() -> None:
    text = render_markdown(failing_report())
    assert "| Gate | Status | Result | Time |" in text
    rows = [line for line in text.splitlines() if re.match(r"^\| (schema|unit|smoke|latency|compare|skew) \| ", line)]
    assert [row.split(" | ")[0][2:] for row in rows] == ["schema", "unit", "smoke", "latency", "compare", "skew"]
    assert "| unit | ❌ fail | 2 of 13 tests failed (first: tests/test\\_preprocessing.py::test\\_case\\_0) | 976 ms |" not in text
    assert "| unit | ❌ fail | 2 of 13 tests failed (first: tests/test_preprocessing.py::test_case_0) | 976 ms |" in text
    assert "| latency | ❌ fail | p99 at batch 1: 31.4 ms vs SLA 10 ms | 132 ms |" in text


def test_measurement_tables_with_intervals_and_units() -> None:
    latency = _section(render_markdown(passing_report()), "latency")
    assert "| Measurement | Value | Threshold | Status |" in latency
    assert "| p99 (batch=1) | 0.0777 ms (95% CI 0.0680–0.127) | &lt;= 10 ms | ✅ pass |" in latency
    assert "| p50 (batch=64) | 0.0399 ms (95% CI 0.0384–0.0417) |  |  |" in latency
    assert "300 timed runs after 20 warm-up · 1 thread · providers: CPUExecutionProvider" in latency
    smoke = _section(render_markdown(passing_report()), "smoke")
    assert "| accuracy | 0.9766 | >= 0.95 | ✅ pass |" in smoke
    assert "| recall | 1.0000 |  |  |" in smoke  # metrics: 4 decimals


def test_baseline_columns_only_where_a_measurement_has_a_baseline() -> None:
    text = render_markdown(passing_report())
    compare = _section(text, "compare")
    assert "| Measurement | Value | Baseline | Change | Threshold | Status |" in compare
    assert "| auc | 0.9876 | 0.9769 | +0.0107 | regression &lt;= 0.01 | ✅ pass |" in compare
    assert "| log\\_loss" not in compare and "| log_loss | 0.1112 | 0.4041 | -0.2929 |" in compare
    assert "| latency_ratio (batch=1) | 0.957× (95% CI 0.913–1.01) | — | — | &lt;= 1.5 | ✅ pass |" in compare
    assert text.count("| Baseline |") == 1  # no other gate grows the columns


def test_compare_intervals_take_the_latency_gates_confidence_level() -> None:
    # compare times with the latency gate's settings; alone, the level is unknown
    assert "| latency_ratio (batch=1) | 0.957× (CI 0.913–1.01) |" in render_markdown(make_report(compare_gate()))
    with_latency = render_markdown(make_report(latency_gate(), compare_gate()))
    assert "| latency_ratio (batch=1) | 0.957× (95% CI 0.913–1.01) |" in with_latency


def test_failures_are_expanded_and_passes_collapsed() -> None:
    text = render_markdown(failing_report())
    assert "<details open><summary>❌ <b>unit</b> — 2 of 13 tests failed" in text
    assert "<details><summary>✅ <b>smoke</b> — 171 rows" in text
    warn = render_markdown(every_status())
    assert "<details open><summary>⚠️ <b>latency</b>" in warn
    assert "<details open><summary>💥 <b>skew</b>" in warn
    assert "could not run: bad input (exit 2)" in _section(warn, "skew")


def test_long_details_go_into_collapsible_blocks() -> None:
    text = render_markdown(failing_report())
    unit = _section(text, "unit")
    assert "<details><summary>Failed tests (2)</summary>\n\n- `tests/test_preprocessing.py::test_case_0`: AssertionError: 0 \\!= 0" not in unit
    assert "<details><summary>Failed tests (2)</summary>\n\n- `tests/test_preprocessing.py::test_case_0`: AssertionError: 0 != 0\n" in unit
    assert "<details><summary>Command</summary>\n\n```sh\n/usr/bin/python3 -m pytest -q tests --junitxml=/tmp/u/junit.xml\n```" in unit
    assert "<details><summary>Output (last lines)</summary>\n\n```text\nFF..........." in unit
    schema = _section(text, "schema")
    assert "| input | `features` | float32 | \\[?, 30\\] |" in schema
    assert "<details><summary>Checks (2 of 2 passed)</summary>" in schema
    smoke = _section(text, "smoke")
    assert "| **0** | 60 | 4 |" in smoke and "| **1** | 0 | 107 |" in smoke
    skew = _section(text, "skew")
    assert "| 154 | 0.8176 | 0.8176 | 1.46e-07 |" in skew
    assert "<details><summary>Environment and inputs</summary>" in text
    assert "| onnxruntime | 1.17.3 |" in text and "| model sha256 | `dfbd50bdc8f3" in text
    _balanced(text)


def test_failed_checks_are_listed_first() -> None:
    from _report_fixtures import schema_gate

    text = render_markdown(make_report(schema_gate(ok=False)))
    block = text[text.index("<summary>Checks (1 of 2 passed)</summary>") :]
    assert block.index("❌ inputs signature") < block.index("✅ onnx.checker")


def test_footer_has_version_duration_and_environment() -> None:
    last = render_markdown(passing_report()).rstrip("\n").splitlines()[-1]
    assert last == ("<sub>mlpipex 0.1.0 · onnxruntime 1.17.3 · Python 3.11.7 · Linux-6.1-x86_64-with-glibc2.36 · "
                    "1.3 s · 2026-11-28T18:00:00+00:00</sub>")  # fmt: skip


def test_hostile_strings_cannot_break_the_markdown() -> None:
    text = render_markdown(every_status())
    markup = _outside_code(text)
    assert "<script>" not in markup and "&lt;script>" in markup and "]]>" not in markup.replace("\\]]>", "")
    assert "<script>" in text  # verbatim, but only inside code blocks and spans
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    assert "@octocat" not in markup and "@&#8203;octocat" in markup
    assert "javascript:" in markup and not re.search(r"(?<!\\)\[x\\?\]\(javascript:", markup)  # no link
    row = next(line for line in text.splitlines() if line.startswith("| custom-gate |"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # the message did not add table columns
    summary = next(line for line in text.splitlines() if "<b>custom-gate</b>" in line)
    assert "&lt;script&gt;" in summary and "\\|" not in summary  # HTML context: entities, no markdown escapes
    custom = _section(text, "custom-gate")
    measurement_row = next(line for line in custom.splitlines() if line.startswith("| a\\|b"))
    assert len(re.findall(r"(?<!\\)\|", measurement_row)) == 5
    assert "- ``a|b `tick` <script>" in custom  # a test name verbatim in a code span a backtick longer
    _balanced(text)


def test_output_with_fences_cannot_close_its_block_early() -> None:
    gate = GateResult("unit", Status.FAIL, "1 of 1 tests failed", details={"output_tail": "```\n</details>\n````\nend"})
    text = render_markdown(make_report(gate))
    assert "`````text\n```\n</details>\n````\nend\n`````" in text
    _balanced(text.replace("`````text\n```\n</details>\n````\nend\n`````", ""))


def test_unknown_gates_render_with_measurements_and_raw_details() -> None:
    text = render_markdown(unknown_gates())
    fairness = _section(text, "fairness")
    assert "| parity_gap (sex) | 0.0612 | &lt;= 0.05 | ⚠️ warn |" in fairness
    assert '<details><summary>Details</summary>\n\n```json\n{\n  "groups": {' in fairness
    for odd in ('"rows": "not an int"', '"checks": "not a list"', '"confusion_matrix": [', '"worst_rows": null'):
        assert odd in fairness  # malformed known keys are shown raw, not mis-rendered
    explain = _section(text, "explainability")
    assert "_No measurements._" in explain and '"top_features"' in explain
    assert "| empty | ✅ pass |  |" in text
    assert "mermaid" not in text
    _balanced(text)


def test_a_report_without_gates_still_renders() -> None:
    text = render_markdown(make_report(baseline=False))
    assert text.startswith(marker_for("breast-cancer"))
    assert "0 passed, 0 warnings, 0 failed" in text and "no gates ran" in text


def test_string_and_missing_values() -> None:
    gate = GateResult("custom", Status.PASS, "ok", [Measurement("digest", "abc"), Measurement("auc", None, baseline=0.9)])
    text = render_markdown(make_report(gate))
    assert "| digest | abc | — | — |  |  |" in text
    assert "| auc | — | 0.9000 | — |  |  |" in text
