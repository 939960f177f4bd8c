"""Escaping and number formatting shared by the renderers."""

from __future__ import annotations

import pytest

from mlpipex.gates.result import Measurement
from mlpipex.report._numbers import change, duration, interval, number, plain, significant
from mlpipex.report._text import cell, code, fence, html, marker_name, mermaid_label, strip_control


def test_strip_control_keeps_text_layout_only() -> None:
    assert strip_control("a\tb\nc\r\n\x00\x1b[0m\x7f\x85\udcff\ufffe\uffffd") == "a\tb\nc\r\n[0md"


def test_cell_is_one_safe_line() -> None:
    assert cell("a|b `c` <d> [e](f) \\| @team x@y") == "a\\|b \\`c\\` &lt;d> \\[e\\](f) \\\\\\| @&#8203;team x@y"
    assert cell("line\nnext\r\nthird\ttab") == "line next third tab"
    assert cell("x" * 50, limit=10) == "x" * 9 + "…"


def test_html_escapes_for_summary_tags() -> None:
    assert html('<b>"a" & [b]</b> @me') == "&lt;b&gt;\"a\" &amp; &#91;b]&lt;/b&gt; @&#8203;me"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("name", "`name`"), ("a`b", "``a`b``"), ("```", "```` ``` ````"), ("`x", "`` `x ``"), ("", "` `")],
)
def test_code_span_fits_any_backticks(text: str, expected: str) -> None:
    assert code(text) == expected


def test_code_span_in_a_table_escapes_pipes() -> None:
    assert code("a|b", in_table=True) == "`a\\|b`"


def test_fence_outlasts_inner_fences_and_keeps_the_end() -> None:
    assert fence("x\n````\ny") == "`````text\nx\n````\ny\n`````"
    tail = fence("0123456789" * 100, limit=21)
    assert tail == "```text\n…" + "0123456789" * 2 + "\n```"


def test_mermaid_label_and_marker_name() -> None:
    # Issue 20: mermaid, not markdown: | @ & stay; a quote (no escape exists) and < (mermaid shows
    # it as &lt;) become look-alikes; entity codes and %% directives are broken by a zero-width space
    assert mermaid_label('p99 "b1" `x`') == '"p99 \u02bab1\u02ba `x`"'
    assert mermaid_label("texture|<b>@team") == '"texture|\u2039b>@team"'
    assert mermaid_label("a#124;b %%{init: {}}%%", 60) == '"a#\u200b124;b %\u200b%{init: {}}%\u200b%"'
    assert marker_name("fraud-model") == "fraud-model"
    assert "-->" not in marker_name("evil --> <script>")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.0231, "ms", "0.0231 ms"),
        (1.155, "ms", "1.16 ms"),
        (1234.5, "ms", "1234 ms"),
        (0.09996, "ms", "0.100 ms"),
        (0.957, "×", "0.957×"),
        (0.001117, "MB", "0.00112 MB"),
        (0.97660818, "", "0.9766"),
        (1.0, "", "1.0000"),
        (1.46e-07, "", "1.46e-07"),
        (12345678.9, "", "1.23e+07"),
        (1024, "", "1,024"),
        (None, "", "—"),
        ("abc", "", "abc"),
        (True, "", "True"),
        (float("nan"), "", "NaN"),
        (float("-inf"), "ms", "-∞ ms"),
    ],
)
def test_number(value: object, unit: str, expected: str) -> None:
    assert number(value, unit) == expected


def test_significant_and_plain_never_use_exponents() -> None:
    assert significant(0.0000123) == "0.0000123" and plain(0.0000123) == "0.0000123"
    assert plain(2.0) == "2" and plain(0.068) == "0.068" and plain(float("nan")) == "0"
    assert significant(-0.2929) == "-0.293"


def test_interval_and_change() -> None:
    m = Measurement("p95", 1.234, "ms", ci_low=1.1, ci_high=1.31)
    assert interval(m, 0.95) == "1.23 ms (95% CI 1.10–1.31)"
    assert interval(m, None) == "1.23 ms (CI 1.10–1.31)"
    assert interval(Measurement("auc", 0.9), 0.95) == "0.9000"
    assert change(Measurement("auc", 0.9876, baseline=0.9769)) == "+0.0107"
    assert change(Measurement("log_loss", 0.1112, baseline=0.4041)) == "-0.2929"
    assert change(Measurement("auc", None, baseline=0.9)) == "—"


def test_duration() -> None:
    assert [duration(s) for s in (0.0004, 0.976, 1.26, 150.0, float("nan"))] == ["0 ms", "976 ms", "1.3 s", "2 min 30 s", "—"]
