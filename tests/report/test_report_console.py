"""The verdict table at the end of a run."""

from __future__ import annotations

import re

from _report_fixtures import HOSTILE, every_status, make_report, passing_report

from mlpipex.gates.result import GateResult, Status
from mlpipex.report import render_console

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_plain_output_has_no_escape_codes_even_from_hostile_messages() -> None:
    text = render_console(every_status(), color=False)
    assert "\x1b" not in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
    assert "a|b `tick` <script>" in text  # readable, just without control characters
    assert "\x1b" in HOSTILE  # the fixture did try


def test_colour_only_on_status_and_verdict() -> None:
    text = render_console(every_status(), color=True)
    assert "\x1b[31mfail  \x1b[0m" in text and "\x1b[33mwarn  \x1b[0m" in text
    assert "\x1b[31mverdict: FAIL\x1b[0m" in text
    assert ANSI.sub("", text) == render_console(every_status(), color=False)


def test_table_and_verdict_line() -> None:
    lines = render_console(passing_report(), color=False).splitlines()
    assert lines[0].split() == ["gate", "status", "time", "result"]
    assert lines[2] == "  schema   pass        108 ms  valid ONNX, signature as declared, 1.12 kB"
    assert lines[-1] == "  verdict: PASS · breast-cancer@1.1.0 · 6 passed, 0 warnings, 0 failed · 1.3 s · exit 0"


def test_columns_line_up_and_lines_fit_120_columns() -> None:
    gates = [GateResult("a-very-long-custom-gate-name", Status.PASS, "m" * 500, duration_s=150.0),
             GateResult("x", Status.ERROR, "broken\nacross lines", error_exit_code=3)]  # fmt: skip
    lines = render_console(make_report(*gates), color=False).splitlines()
    rows = lines[2:4]
    assert all(len(line) <= 120 for line in lines[:-1])
    assert rows[0].index("pass") == rows[1].index("error")
    assert rows[0].index("2 min 30 s") + len("2 min 30 s") == rows[1].index("0 ms") + len("0 ms")
    assert rows[0].endswith("…") and "broken across lines" in rows[1]
    assert lines[-1].endswith("exit 3")


def test_no_gates() -> None:
    assert "(no gates ran)" in render_console(make_report(), color=False)
