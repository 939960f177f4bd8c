"""report.md: the report people read in a pull request.

The view is built here (pure data: rows, charts, sections) and laid out by
``templates/report.md.j2``. GitHub caps a comment at 65,536 characters, so the
render degrades in steps — drop long details, then shorten tables, then cut — and
always says what it left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2

from mlpipex.gates.result import GateResult, Measurement, Report, Status
from mlpipex.report._format import cell, duration, fence, measured, number

MARKER = "<!-- mlpipex:report model={model} -->"
# Scores on a 0..1 scale chart well together; losses and errors do not.
_UNIT_SCALE = {"accuracy", "precision", "recall", "f1", "auc"}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("mlpipex.report", "templates"),
    autoescape=False,  # markdown, not HTML: user text goes through `cell` / `fence` instead
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters.update(cell=cell, number=number, duration=duration, measured=measured, fence=fence)


@dataclass
class Section:
    """One gate's collapsible block."""

    gate: GateResult
    table: list[Measurement]
    extras: list[tuple[str, str]] = field(default_factory=list)  # (summary, markdown body)
    open: bool = False


@dataclass
class View:
    report: Report
    marker: str
    headline: str
    counts: str
    charts: list[tuple[str, str]]  # (caption, mermaid source)
    sections: list[Section]
    footer: str
    notes: list[str] = field(default_factory=list)


def render_markdown(report: Report, *, max_chars: int = 65000) -> str:
    notes: list[str] = []
    text = _render(_view(report, detail_rows=1000), notes)
    if len(text) <= max_chars:
        return text
    # Step 1: drop the long extras (test output, failed-test lists, worst rows, environment).
    view = _view(report, detail_rows=0)
    extras = sum(len(s.extras) for s in _view(report, detail_rows=1000).sections)
    notes.append(f"{extras} details sections omitted")
    text = _render(view, notes)
    if len(text) <= max_chars:
        return text
    # Step 2: shorten measurement tables.
    for section in view.sections:
        if len(section.table) > 20:
            notes.append(f"{section.gate.gate}: {len(section.table) - 20} measurements omitted")
            section.table = section.table[:20]
    text = _render(view, notes)
    if len(text) <= max_chars:
        return text
    # Step 3: cut at a line boundary, leaving room for the note.
    note = "\n\n> ✂️ truncated: the report was too long for a comment; see report.json for everything.\n"
    cut = text[: max_chars - len(note)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("```") % 2:  # never leave a code fence open
        cut += "\n```"
    return cut + note


def _render(view: View, notes: list[str]) -> str:
    view.notes = list(notes)
    return _env.get_template("report.md.j2").render(view=view, Status=Status)


def _view(report: Report, *, detail_rows: int) -> View:
    counts = {s: sum(1 for g in report.gates if g.status is s) for s in Status}
    verdict = report.verdict
    words = {Status.PASS: "passed", Status.WARN: "passed with warnings", Status.FAIL: "failed",
             Status.ERROR: "could not be checked", Status.SKIP: "skipped"}  # fmt: skip
    model = f"{report.model.name}@{report.model.version}"
    parts = [f"**{counts[Status.PASS]} passed**"]
    for status, word in ((Status.WARN, "warning"), (Status.FAIL, "failed"), (Status.ERROR, "error"),
                         (Status.SKIP, "skipped")):  # fmt: skip
        if counts[status]:
            plural = "s" if counts[status] != 1 and word in ("warning", "error") else ""
            parts.append(f"{counts[status]} {word}{plural}")
    env = report.environment
    footer = " · ".join(
        p for p in (
            f"mlpipex {env.get('mlpipex', '?')}",
            f"onnxruntime {env['onnxruntime']}" if "onnxruntime" in env else "",
            f"Python {env['python']}" if "python" in env else "",
            env.get("platform", ""),
            f"{duration(report.duration_s)}",
            report.started_at,
        ) if p
    )  # fmt: skip
    return View(
        report=report,
        marker=MARKER.format(model=cell(report.model.name, 100)),
        headline=f"{verdict.icon} mlpipex: `{cell(model, 120)}` {words[verdict]}",
        counts=" · ".join(parts),
        charts=[c for c in (_latency_chart(report.gate("latency")), _compare_chart(report.gate("compare"))) if c],
        sections=[_section(g, detail_rows) for g in report.gates],
        footer=footer,
    )


def _section(gate: GateResult, rows: int) -> Section:
    extras: list[tuple[str, str]] = []
    d = gate.details
    if rows:
        failed = d.get("failed_tests") or []
        if failed:
            lines = [f"- `{cell(t.get('name', '?'), 200)}`: {cell(t.get('message', ''), 300)}" for t in failed[:rows]]
            if len(failed) > rows:
                lines.append(f"- … and {len(failed) - rows} more")
            extras.append((f"Failed tests ({len(failed)})", "\n".join(lines)))
        if d.get("command"):
            extras.append(("Command", fence(" ".join(str(a) for a in d["command"]), "sh")))
        if d.get("output_tail"):
            extras.append(("Test output (last lines)", fence(str(d["output_tail"]))))
        if d.get("checks"):
            lines = [f"- {'✅' if c.get('ok') else '❌'} {cell(c.get('name', ''))}: {cell(c.get('message', ''))}"
                     for c in d["checks"][:rows]]  # fmt: skip
            extras.append(("Checks", "\n".join(lines)))
        if d.get("inputs") or d.get("outputs"):
            lines = ["| kind | name | dtype | shape |", "|---|---|---|---|"]
            for kind in ("inputs", "outputs"):
                for t in d.get(kind, [])[:rows]:
                    lines.append(f"| {kind[:-1]} | `{cell(t.get('name'))}` | {cell(t.get('dtype'))} | "
                                 f"{cell(t.get('shape'))} |")  # fmt: skip
            extras.append(("Signature", "\n".join(lines)))
        if d.get("worst_rows"):
            lines = ["| row | training | artifact | abs diff |", "|---|---|---|---|"]
            lines += [f"| {r.get('row')} | {number(r.get('expected'))} | {number(r.get('actual'))} | "
                      f"{number(r.get('abs_diff'))} |" for r in d["worst_rows"][:rows]]  # fmt: skip
            extras.append(("Largest differences", "\n".join(lines)))
        if d.get("confusion_matrix"):
            cm = d["confusion_matrix"]
            labels = [cell(x) for x in cm.get("labels", [])]
            lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
            lines += [f"| **{label}** | " + " | ".join(str(v) for v in row) + " |"
                      for label, row in zip(labels, cm.get("matrix", []))]  # fmt: skip
            extras.append(("Confusion matrix", "\n".join(lines)))
    return Section(
        gate=gate,
        table=list(gate.measurements),
        extras=extras,
        open=gate.status in (Status.FAIL, Status.ERROR),
    )


def _axis(labels: list[str]) -> str:
    return "[" + ", ".join('"' + label.replace('"', "'") + '"' for label in labels) + "]"


def _series(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def _latency_chart(gate: GateResult | None) -> tuple[str, str] | None:
    """Each judged percentile as a share of its SLA, so 0.01 ms and 20 ms limits share one axis.

    Bars: the measured percentile; first line: the upper end of its interval; second
    line: the SLA itself (100%). A bar above 100% with its interval too is a failure.
    """
    if gate is None:
        return None
    points: list[tuple[str, float, float]] = []
    for m in gate.measurements:
        if m.unit != "ms" or not isinstance(m.value, (int, float)) or not m.threshold:
            continue
        try:
            limit = float(m.threshold.split()[1])
        except (IndexError, ValueError):
            continue
        batch = (m.group or "").replace("batch=", "b")
        high = float(m.ci_high if m.ci_high is not None else m.value)
        points.append((f"{m.name} {batch}".strip(), 100 * float(m.value) / limit, 100 * high / limit))
    if not points:
        return None
    top = max(110.0, max(p[2] for p in points) * 1.1)
    source = "\n".join([
        "xychart-beta",
        '  title "Latency as % of the SLA"',
        f"  x-axis {_axis([p[0] for p in points])}",
        f'  y-axis "% of SLA" 0 --> {top:.0f}',
        f"  bar {_series([p[1] for p in points])}",
        f"  line {_series([p[2] for p in points])}",
        f"  line {_series([100.0] * len(points))}",
    ])  # fmt: skip
    confidence = round(100 * gate.details.get("confidence", 0.95))
    caption = (f"Bars: measured percentile · lower line: upper end of its {confidence}% interval · "
               "line at 100%: the SLA")  # fmt: skip
    return caption, source


def _compare_chart(gate: GateResult | None) -> tuple[str, str] | None:
    """Bars: candidate; line: baseline — for the 0..1 scores only."""
    if gate is None:
        return None
    points = [(m.name, float(m.value), float(m.baseline)) for m in gate.measurements
              if m.name in _UNIT_SCALE and isinstance(m.value, (int, float)) and m.baseline is not None]  # fmt: skip
    if not points:
        return None
    low = min(min(p[1], p[2]) for p in points)
    floor = max(0.0, round(low - 0.05, 1))
    source = "\n".join([
        "xychart-beta",
        '  title "Candidate (bars) against baseline (line)"',
        f"  x-axis {_axis([p[0] for p in points])}",
        f"  y-axis {floor:g} --> 1",
        f"  bar {_series([p[1] for p in points])}",
        f"  line {_series([p[2] for p in points])}",
    ])  # fmt: skip
    return "Bars: this model · line: the baseline it replaces", source


def marker_for(model: str) -> str:
    """The hidden marker bots use to find and edit this model's sticky comment."""
    return MARKER.format(model=cell(model, 100))


