"""The verdict table printed at the end of a run: fixed width, colour only on a terminal."""

from __future__ import annotations

from mlpipex.gates.result import Report, Status
from mlpipex.report._format import duration, strip_control

_COLORS = {Status.PASS: "32", Status.WARN: "33", Status.FAIL: "31", Status.SKIP: "90", Status.ERROR: "35"}
MESSAGE_WIDTH = 88


def _paint(text: str, status: Status, color: bool) -> str:
    return f"\x1b[{_COLORS[status]}m{text}\x1b[0m" if color else text


def render_console(report: Report, *, color: bool) -> str:
    rows = []
    for g in report.gates:
        message = strip_control(g.message).replace("\n", " ")
        if len(message) > MESSAGE_WIDTH:
            message = message[: MESSAGE_WIDTH - 1] + "…"
        status = _paint(f"{g.status.value:<6}", g.status, color)
        rows.append(f"  {g.gate:<9} {status} {duration(g.duration_s):>8}  {message}")
    verdict = report.verdict
    counts = ", ".join(f"{n} {s.value}" for s in Status if (n := sum(g.status is s for g in report.gates)))
    head = f"  {'gate':<9} {'status':<6} {'time':>8}  result"
    line = "  " + "─" * (len(head) + 40)
    summary = _paint(f"verdict: {verdict.value.upper()}", verdict, color)
    return "\n".join([head, line, *rows, line,
                      f"  {summary} · {report.model.name}@{report.model.version} · {counts} · "
                      f"{duration(report.duration_s)} · exit {report.exit_code}"])  # fmt: skip
