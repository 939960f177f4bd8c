"""Progress on a terminal, plain lines in CI logs, colour only when wanted."""

from __future__ import annotations

import io

from mlpipex.console import Console
from mlpipex.gates.result import GateResult, Status


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ci_log_gets_plain_lines_once_per_step():
    out = io.StringIO()
    console = Console(out, environ={"CI": "true"})
    console.gate_started("latency")
    for done in range(0, 101, 10):
        console.progress("latency batch=1", done, 100)
    console.gate_result(GateResult("latency", Status.PASS, "within SLA", duration_s=0.5))
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text
    assert text.count("latency batch=1") == 1
    assert "▶ latency" in text and "✅ latency  pass  within SLA  (0.50 s)" in text


def test_terminal_gets_a_redrawn_bar_and_colour():
    out = FakeTTY()
    console = Console(out, environ={})
    console.progress("smoke", 0, 10)
    console.progress("smoke", 10, 10)
    console.gate_result(GateResult("smoke", Status.FAIL, "bad", duration_s=0.1))
    text = out.getvalue()
    assert "\r" in text and "█" * 24 in text
    assert "\x1b[31mfail" in text
    assert not Console(FakeTTY(), environ={"NO_COLOR": "1"}).color
    assert Console(io.StringIO(), environ={"FORCE_COLOR": "1"}).color


def test_quiet_prints_nothing():
    out = io.StringIO()
    console = Console(out, environ={}, quiet=True)
    console.gate_result(GateResult("smoke", Status.PASS, "ok"))
    console.progress("x", 1, 2)
    assert out.getvalue() == ""
