"""The verdict table printed at the end of a run: fixed width, colour only when asked."""

from __future__ import annotations

from mlpipex.gates.result import Report, Status
from mlpipex.report._numbers import duration
from mlpipex.report._summary import counts
from mlpipex.report._text import one_line

_COLORS = {Status.PASS: "32", Status.WARN: "33", Status.FAIL: "31", Status.SKIP: "90", Status.ERROR: "35"}
WIDTH = 120
GATE_WIDTH = (4, 24)  # min, max


def _paint(text: str, status: Status, color: bool) -> str:
    return f"\x1b[{_COLORS[status]}m{text}\x1b[0m" if color else text


def render_console(report: Report, *, color: bool) -> str:
    """A table of gate, status, time and message, then one verdict line.

    Every line fits in ``WIDTH`` columns; user text has its control characters
    (including ANSI escapes) removed, so ``color=False`` output is plain text.
    """
    names = [one_line(g.gate, GATE_WIDTH[1]) for g in report.gates]
    gate_width = min(max([GATE_WIDTH[0], *map(len, names)]), GATE_WIDTH[1])
    prefix = 2 + gate_width + 2 + 6 + 2 + 10 + 2
    message_width = WIDTH - prefix
    head = f"  {'gate':<{gate_width}}  {'status':<6}  {'time':>10}  result"
    rule = "  " + "─" * (WIDTH - 2)
    rows = []
    for name, g in zip(names, report.gates):
        status = _paint(f"{g.status.value:<6}", g.status, color)
        message = one_line(g.message, message_width)
        rows.append(f"  {name:<{gate_width}}  {status}  {duration(g.duration_s):>10}  {message}".rstrip())
    if not rows:
        rows.append("  (no gates ran)")
    verdict = report.verdict
    model = one_line(f"{report.model.name}@{report.model.version}", 60)
    summary = _paint(f"verdict: {verdict.value.upper()}", verdict, color)
    tail = f"  {summary} · {model} · {counts(report)} · {duration(report.duration_s)} · exit {report.exit_code}"
    lines = [head, rule, *rows, rule, tail]
    base = report.baseline
    if base is not None and base.artifact:  # pulled from a registry: say exactly which package
        lines.append(f"  compared with {one_line(base.requested or base.artifact, 200)} = "
                     f"{one_line(base.artifact, 200)} ({one_line(base.name + '@' + base.version, 120)})")  # fmt: skip
        if base.environment:
            lines.append(f"  deployed in {one_line(base.environment, 60)} ({base.serving or 'stable'}) since "
                         f"{one_line(base.deployed_at or 'unknown', 40)}"
                         + (f", from the {one_line(base.deployed_from, 200)}" if base.deployed_from else ""))  # fmt: skip
        lines += [f"  note: {one_line(note, 300)}" for note in base.notes]
    return "\n".join(lines)
