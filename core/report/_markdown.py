"""report.md: the report people read in a pull request.

The view (pure data, every string already escaped) is built here and laid out by
``templates/report.md.j2``. A GitHub comment holds 65,536 characters, so a render
that is too long degrades in steps — hide collapsible details (passing gates'
first, the largest first), then shorten measurement tables, then bring back the
details that fit again, then cut at a line — and says at the end what it left out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import jinja2

from mlpipex.gates.result import Report, Status
from mlpipex.report._charts import Chart, compare_charts, latency_charts
from mlpipex.report._numbers import duration, number
from mlpipex.report._sections import Extra, Section, build_section
from mlpipex.report._summary import counts, verdict_words
from mlpipex.report._text import cell, code, marker_name

MARKER = "<!-- mlpipex:report model={model} -->"
MIN_CHARS = 1000
TABLE_ROW_STEPS = (50, 20, 5, 0)
_RESERVE = 300  # room for the truncation note and the tags that close a cut


@dataclass
class View:
    marker: str
    headline: str
    subline: str
    summary_rows: list[list[str]]
    charts: list[Chart]
    sections: list[Section]
    environment: Extra | None
    footer: str
    notes: list[str] = field(default_factory=list)


@functools.cache
def _template() -> jinja2.Template:
    """The template, loaded once on first use (no file access at import)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlpipex.report", "templates"),
        autoescape=False,  # markdown, not HTML: the view escapes each string for its context
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.md.j2")


def marker_for(model: str) -> str:
    """The hidden marker bots use to find and edit this model's sticky comment."""
    return MARKER.format(model=marker_name(model))


def render_markdown(report: Report, *, max_chars: int = 65000) -> str:
    """report.md, never longer than ``max_chars`` characters (at least 1,000)."""
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS}, got {max_chars}")
    view = build_view(report)
    text = _render(view)
    if len(text) <= max_chars:
        return text
    # Step 1: hide collapsible details until the report fits: passing gates' before
    # failing gates', the largest first within each.
    ranked = _extras(view)
    extras = [e for _, e in ranked]
    pending = 0  # characters hidden since the last render
    for _, extra in sorted(ranked, key=lambda r: (-r[0], -r[1].size())):
        if len(text) <= max_chars:
            break
        extra.hidden = True
        pending += extra.size()
        if pending >= len(text) - max_chars:  # re-render once the estimate says it may fit
            text, pending = _render(_noted(view)), 0
    text = _render(_noted(view))
    # Step 2: shorten the measurement tables.
    for rows in TABLE_ROW_STEPS:
        if len(text) <= max_chars:
            break
        if sum(s.table.limit(rows) for s in view.sections if s.table is not None):
            text = _render(_noted(view))
    # Step 3: shorter tables may have made room: bring details back, failing gates' first.
    for extra in (e for e in extras if e.hidden):
        if len(text) + extra.size() - 60 > max_chars:
            continue
        extra.hidden = False
        candidate = _render(_noted(view))
        if len(candidate) <= max_chars:
            text = candidate
        else:
            extra.hidden = True
    text = _render(_noted(view))
    if len(text) <= max_chars:
        return text
    # Step 4: cut at a line, close what the cut left open, and say so.
    return _cut(text, max_chars, view.notes)


def _noted(view: View) -> View:
    """``view`` with notes that say what is left out."""
    hidden = sum(1 for _, e in _extras(view) if e.hidden)
    rows = sum(s.table.omitted for s in view.sections if s.table is not None)
    view.notes = []
    if hidden:
        view.notes.append(f"{hidden:,} details section{'s' if hidden != 1 else ''} omitted")
    if rows:
        view.notes.append(f"{rows:,} measurement row{'s' if rows != 1 else ''} omitted")
    return view


def _render(view: View) -> str:
    return _template().render(view=view)


def _extras(view: View) -> list[tuple[int, Extra]]:
    """Every collapsible block with its rank (0 matters most), the most important first:
    failing gates' blocks in the order they appear, then warnings', then the rest."""
    urgency = {Status.FAIL: 0, Status.ERROR: 0, Status.WARN: 1}
    sections = sorted(view.sections, key=lambda s: urgency.get(s.gate.status, 2))
    found = [(urgency.get(s.gate.status, 2), e) for s in sections for e in s.extras]
    return found + ([(2, view.environment)] if view.environment is not None else [])


_FENCE = re.compile(r"^(`{3,})")


def _cut(text: str, max_chars: int, notes: list[str]) -> str:
    reasons = [*notes, f"the rest cut to fit {max_chars:,} characters"]
    note = f"\n\n> ✂️ …truncated: {'; '.join(reasons)}; see report.json for everything.\n"
    budget = max_chars - len(note) - _RESERVE
    head = text[:budget]
    head = head[: head.rfind("\n")] if "\n" in head else head
    fence, start = _open_fence(head)
    if fence and head[start:].startswith(fence + "mermaid"):
        head, fence = head[:start].rstrip("\n"), ""  # half a chart would not render at all
    closers = (f"\n{fence}" if fence else "") + "\n\n</details>" * _open_details(head)
    return head + closers + note


def _open_fence(text: str) -> tuple[str, int]:
    """The code fence left open at the end of ``text`` and where it starts, or ("", -1)."""
    fence, start, offset = "", -1, 0
    for line in text.split("\n"):
        if fence:
            stripped = line.strip()
            if stripped and set(stripped) == {"`"} and len(stripped) >= len(fence):
                fence, start = "", -1
        elif match := _FENCE.match(line):
            fence, start = match.group(1), offset
        offset += len(line) + 1
    return fence, start


def _open_details(text: str) -> int:
    """How many ``<details>`` are open at the end of ``text`` (fenced code not counted)."""
    depth, fence = 0, ""
    for line in text.split("\n"):
        if fence:
            stripped = line.strip()
            if stripped and set(stripped) == {"`"} and len(stripped) >= len(fence):
                fence = ""
        elif match := _FENCE.match(line):
            fence = match.group(1)
        else:  # the template starts every <details> and </details> on a line of its own
            depth += line.startswith("<details") - (line.strip() == "</details>")
    return max(depth, 0)


def build_view(report: Report) -> View:
    verdict = report.verdict
    model = f"{report.model.name}@{report.model.version}"
    latency = report.gate("latency")
    confidence = latency.details.get("confidence") if latency else None
    level = float(confidence) if isinstance(confidence, (int, float)) else None
    sections = [build_section(g, confidence=level) for g in report.gates]
    return View(
        marker=marker_for(report.model.name),
        headline=f"{verdict.icon} {code(model, 120)} — {counts(report)}",  # a code span: no mailto autolink
        subline=_subline(report),
        summary_rows=[
            [cell(g.gate, 60), f"{g.status.icon} {g.status.value}", cell(g.message, 300), duration(g.duration_s)]
            for g in report.gates
        ],
        charts=latency_charts(latency) + compare_charts(report.gate("compare")),
        sections=sections,
        environment=_environment_extra(report),
        footer=_footer(report),
    )


def _subline(report: Report) -> str:
    parts = [f"mlpipex gates **{verdict_words(report)}**", f"exit {report.exit_code}",
             duration(report.duration_s)]  # fmt: skip
    if report.model.sha256:
        parts.append(f"sha256 {code(report.model.sha256[:12])}")
    if report.baseline is not None:
        against = f"against {code(report.baseline.name + '@' + report.baseline.version, 120)}"
        if report.baseline.environment:
            against += (f" ({cell(report.baseline.environment, 60)}, deployed "
                        f"{cell(report.baseline.deployed_at or 'unknown', 40)})")  # fmt: skip
        parts.append(against)
    if not report.gates:
        parts.append("no gates ran")
    return " · ".join(parts)


def _environment_extra(report: Report) -> Extra:
    rows: list[tuple[str, str]] = []
    for label, info in (("model", report.model), ("baseline", report.baseline)):
        if info is None:
            continue
        rows.append((label, code(f"{info.name}@{info.version}", 120, in_table=True)))
        if info.requested:
            rows.append((f"{label} reference", code(info.requested, 200, in_table=True)))
        if info.environment:
            rows.append((f"{label} serves in", cell(f"{info.environment} ({info.serving or 'stable'})", 100)))
            since = info.deployed_at or "unknown"
            rows.append((f"{label} deployed", cell(since + (f" (from the {info.deployed_from})" if info.deployed_from else ""), 300)))
        rows.append((f"{label} " + ("artifact" if info.artifact else "file"), code(info.path, 200, in_table=True)))
        if info.sha256:
            rows.append((f"{label} sha256", code(info.sha256, 80, in_table=True)))
        if info.size_bytes is not None:
            rows.append((f"{label} size", number(info.size_bytes) + " bytes"))
    rows.append(("config", code(report.config_path, 200, in_table=True)))
    rows.append(("started", cell(report.started_at, 60)))
    rows.append(("fail on", cell(report.fail_on.value)))
    rows += [(cell(k, 60), cell(v, 300)) for k, v in report.environment.items()]
    body = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    return Extra("Environment and inputs", body)


def _footer(report: Report) -> str:
    env = report.environment
    parts = [
        f"mlpipex {env.get('mlpipex', '?')}",
        f"onnxruntime {env['onnxruntime']}" if "onnxruntime" in env else "",
        f"Python {env['python']}" if "python" in env else "",
        env.get("platform", ""),
        duration(report.duration_s),
        report.started_at,
    ]
    return cell(" · ".join(p for p in parts if p), 500)

