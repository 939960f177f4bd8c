"""Drift reports as text: drift.json, drift.md (table + mermaid charts), drift.html, console.

Pure renderers from a DriftReport (plus where the data came from) to strings. The
markdown follows the gate reports (same escaping and mermaid conventions, from
mlpipex.report); the HTML page is self-contained: inline CSS and SVG, no script,
nothing fetched, readable offline and in a CI artifact viewer.
"""

from __future__ import annotations

import html as _html
import json
import math
from dataclasses import dataclass

from mlpipex.drift._detect import DriftReport, FeatureDrift
from mlpipex.report import cell, plain, significant, xychart

__all__ = ["Sources", "render_console", "render_html", "render_json", "render_markdown"]

MAX_CHART_FEATURES = 50  # horizontal bars, one row each: readable at 50
_ICON = {"drift": "🔴", "no_drift": "🟢", "insufficient_data": "⚪"}
_HEADLINE = {"drift": "drift detected", "no_drift": "no significant drift", "insufficient_data": "insufficient data"}
_LEVEL_TEXT = {"alert": "drift", "warn": "warning", "ok": "ok", "unknown": "too few samples"}
_P_FLOOR = 1e-300  # -log10(0) is drawn as 300
_CORRECTION = {"bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni", "none": "uncorrected"}


@dataclass(frozen=True)
class Sources:
    reference: str  # what the reference was: a file name, a profile, an OCI reference
    current: str


def render_json(report: DriftReport, sources: Sources) -> str:
    data = report.to_dict()
    data["sources"] = {"reference": sources.reference, "current": sources.current}
    return json.dumps(data, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: object) -> object:
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value != 0 and abs(value) < 1e-4:
        return f"{value:.2e}"
    return significant(value, digits)


def _ordered(report: DriftReport) -> list[FeatureDrift]:
    """Drifted first, then warnings, then by how far each feature is from its threshold."""
    rank = {"alert": 0, "warn": 1, "ok": 2, "unknown": 3}
    return sorted(report.features, key=lambda f: (rank[f.level], -_score(f)))


def _score(f: FeatureDrift) -> float:
    """How strongly a feature moved, on its test's scale relative to its threshold (1 = at it)."""
    if f.test == "ks":
        p = f.adjusted_p_value if f.adjusted_p_value is not None else f.p_value
        return -math.log10(max(p, _P_FLOOR)) / -math.log10(f.threshold) if p is not None else 0.0
    return (f.psi or 0.0) / f.threshold


def _settings_line(report: DriftReport) -> str:
    s = report.settings
    continuous = f"binned PSI ({s.bins} bins)" if s.continuous_psi else \
        f"KS at α = {s.alpha} ({_CORRECTION[s.correction]})"  # fmt: skip
    line = (f"continuous: {continuous} · categorical: PSI (warn ≥ {s.psi_warn}, drift ≥ {s.psi_alert}) · "
            f"no verdict below {s.min_samples} samples")  # fmt: skip
    if report.reference_source == "profile":  # see mlpipex.drift._reference on the sketch's resolution
        line += " · reference CDF from the profile's quantile sketch"
    return line


def _headline(report: DriftReport) -> str:
    summary = report.to_dict()["summary"]
    text = f"{_ICON[report.verdict]} {_HEADLINE[report.verdict]}"
    if report.verdict == "drift":
        text += f" in {summary['drifted']} of {summary['tested']} features"
    elif report.verdict == "no_drift":
        text += f" ({summary['tested']} features tested)"
    return text


def render_markdown(report: DriftReport, sources: Sources) -> str:
    lines = [f"## Drift: {_headline(report)}", ""]
    lines.append(f"Reference: {cell(sources.reference)} ({report.rows_reference:,} rows) · "
                 f"current: {cell(sources.current)} ({report.rows_current:,} rows)  ")  # fmt: skip
    lines.append(_settings_line(report))
    lines += ["", "| feature | test | statistic | p-value (adjusted) | PSI | nulls ref → cur | n ref / cur | verdict |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    for f in _ordered(report):
        p = "—" if f.p_value is None else f"{_num(f.p_value)} ({_num(f.adjusted_p_value)})"
        nulls = f"{f.null_rate_reference:.1%} → {f.null_rate_current:.1%}" + (" ⚠️" if null_shift(f, report) else "")
        lines.append(f"| {cell(f.name, 80)} | {f.test.upper()} | {_num(f.statistic)} | {p} | {_num(f.psi)} | "
                     f"{nulls} | {f.n_reference:,} / {f.n_current:,} | {_level_icon(f)} {_LEVEL_TEXT[f.level]} |")  # fmt: skip
    for title, caption, source in _charts(report):
        lines += ["", f"**{title}**", "", "```mermaid", source, "```", f"<sub>{caption}</sub>"]
    for f in _ordered(report):
        if f.buckets and f.level in ("alert", "warn"):
            lines += ["", f"<details><summary>{_html.escape(f.name)}: PSI {_num(f.psi)} by bucket</summary>", "",
                      "| bucket | reference | current |", "| --- | ---: | ---: |"]  # fmt: skip
            lines += [f"| {cell(b['label'], 60)} | {b['reference']:.2%} | {b['current']:.2%} |" for b in f.buckets]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def null_shift(f: FeatureDrift, report: DriftReport) -> bool:
    """The null rate moved by a point or more, and a two-proportion z-test at alpha agrees.

    Only flagged in the reports: missingness is not part of the drift verdict, but a
    feature that went from 1% to 30% missing is worth a look before its distribution is.
    """
    p1, p2 = f.null_rate_reference, f.null_rate_current
    n1, n2 = report.rows_reference, report.rows_current
    if abs(p1 - p2) < 0.01 or not n1 or not n2:
        return False
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return spread == 0 or math.erfc(abs(p1 - p2) / spread / math.sqrt(2)) < report.settings.alpha


def _level_icon(f: FeatureDrift) -> str:
    return {"alert": "🔴", "warn": "🟡", "ok": "🟢", "unknown": "⚪"}[f.level]


def _charts(report: DriftReport) -> list[tuple[str, str, str]]:
    charts = []
    ks = [f for f in _ordered(report) if f.test == "ks" and f.p_value is not None][:MAX_CHART_FEATURES]
    if ks:
        alpha_line = -math.log10(report.settings.alpha)
        values = [-math.log10(max(f.adjusted_p_value or f.p_value or 1.0, _P_FLOOR)) for f in ks]
        charts.append(("KS: −log10 adjusted p-value by feature",
                       f"bars: −log10 of the adjusted p-value; line: α = {report.settings.alpha} "
                       "(a bar above the line is drift)",
                       _xychart(["#4e79a7", "#e15759"], "KS significance", [f.name for f in ks], values,
                                [[alpha_line] * len(ks)])))  # fmt: skip
    psi_features = [f for f in _ordered(report) if f.psi is not None][:MAX_CHART_FEATURES]
    if psi_features:
        s = report.settings
        charts.append(("PSI by feature", f"bars: PSI; lines: warning at {s.psi_warn}, drift at {s.psi_alert}",
                       _xychart(["#4e79a7", "#f28e2b", "#e15759"], "PSI", [f.name for f in psi_features],
                                [f.psi or 0.0 for f in psi_features],
                                [[s.psi_warn] * len(psi_features), [s.psi_alert] * len(psi_features)])))  # fmt: skip
    return charts


def _xychart(palette: list[str], title: str, labels: list[str], bars: list[float], lines: list[list[float]]) -> str:
    top = max([*bars, *(v for line in lines for v in line), 1e-9]) * 1.15
    return xychart(palette, title, labels, f"0 --> {plain(top)}",
                   [_value(v, top) for v in bars], [[_value(v, top) for v in line] for line in lines])  # fmt: skip


def _value(value: float, top: float) -> float:
    """A chart value; below a thousandth of the axis it is drawn as 0 (no 0.000000000253 in the source)."""
    return value if value >= top / 1000 else 0.0


_CORRECTION_TEXT = {"bh": "BH-adjusted", "bonferroni": "Bonferroni-adjusted"}


def _p_values(f: FeatureDrift, report: DriftReport) -> str:
    """Both p-values, each named: the verdict compares the adjusted one with α."""
    adjusted = _CORRECTION_TEXT.get(report.settings.correction)
    if adjusted is None:
        return f"raw p {_num(f.p_value)} (no correction)"
    return f"raw p {_num(f.p_value)}, {adjusted} p {_num(f.adjusted_p_value)}"


def render_console(report: DriftReport, *, color: bool = False, limit: int = 10) -> str:
    paint = {"alert": "31", "warn": "33", "ok": "32", "unknown": "90"}
    lines = [_headline(report)]
    shown = [f for f in _ordered(report) if f.level in ("alert", "warn")][:limit]
    for f in shown:
        level = _LEVEL_TEXT[f.level]
        if color:
            level = f"\x1b[{paint[f.level]}m{level}\x1b[0m"
        detail = f"PSI {_num(f.psi)}" if f.test == "psi" else f"D {_num(f.statistic)}, {_p_values(f, report)}"
        lines.append(f"  {level:<8} {f.name}: {detail}")
    rest = sum(1 for f in report.features if f.level in ("alert", "warn")) - len(shown)
    if rest > 0:
        lines.append(f"  … and {rest} more (see the report)")
    for f in report.features:
        if null_shift(f, report):
            lines.append(f"  nulls    {f.name}: {f.null_rate_reference:.1%} → {f.null_rate_current:.1%} missing")
    unknown = sum(1 for f in report.features if f.level == "unknown")
    if unknown:
        lines.append(f"  {unknown} feature(s) had fewer than {report.settings.min_samples} samples: no verdict")
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:70rem;
color:#1f2328;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#59636e}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #d1d9e0;padding:.35rem .5rem;text-align:left}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}tr.alert td:first-child{border-left:4px solid #cf222e}
tr.warn td:first-child{border-left:4px solid #d4a72c}.badge{border-radius:1em;padding:.05rem .55rem;
font-size:.85em;white-space:nowrap}.alert .badge,.badge.alert{background:#ffebe9;color:#a40e26}
.warn .badge{background:#fff8c5;color:#7d4e00}.ok .badge,.badge.ok{background:#dafbe1;color:#116329}
.unknown .badge,.badge.unknown{background:#eff2f5;color:#59636e}svg text{font:12px system-ui,sans-serif}
details{margin:.5rem 0}summary{cursor:pointer}
"""


def render_html(report: DriftReport, sources: Sources) -> str:
    e = _html.escape
    verdict_class = {"drift": "alert", "no_drift": "ok", "insufficient_data": "unknown"}[report.verdict]
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Drift: {e(_HEADLINE[report.verdict])}</title><style>{_CSS}</style></head><body>",
             f'<h1>Drift report <span class="badge {verdict_class}">{e(_HEADLINE[report.verdict])}</span></h1>',
             f'<p class="meta">Reference: <b>{e(sources.reference)}</b> ({report.rows_reference:,} rows) · '
             f"current: <b>{e(sources.current)}</b> ({report.rows_current:,} rows)<br>{e(_settings_line(report))}</p>",
             "<h2>Features</h2><table><thead><tr><th>feature</th><th>test</th><th class=n>statistic</th>"
             "<th class=n>p-value</th><th class=n>adjusted p</th><th class=n>PSI</th><th class=n>nulls ref → cur</th>"
             "<th class=n>n ref / cur</th><th>verdict</th></tr></thead><tbody>"]  # fmt: skip
    for f in _ordered(report):
        parts.append(
            f'<tr class="{f.level}"><td>{e(f.name)}</td><td>{f.test.upper()}</td><td class=n>{_num(f.statistic)}</td>'
            f"<td class=n>{_num(f.p_value)}</td><td class=n>{_num(f.adjusted_p_value)}</td><td class=n>{_num(f.psi)}</td>"
            f"<td class=n>{f.null_rate_reference:.1%} → {f.null_rate_current:.1%}"
            f"{' ⚠' if null_shift(f, report) else ''}</td>"
            f"<td class=n>{f.n_reference:,} / {f.n_current:,}</td>"
            f'<td><span class="badge">{_LEVEL_TEXT[f.level]}</span></td></tr>'
        )
    parts.append("</tbody></table>")
    ks = [f for f in _ordered(report) if f.test == "ks" and f.p_value is not None]
    if ks:
        values = [-math.log10(max(f.adjusted_p_value or f.p_value or 1.0, _P_FLOOR)) for f in ks]
        parts += ["<h2>KS significance</h2>",
                  '<p class="meta">−log10 of the adjusted p-value; the red line is α: a bar past it is drift.</p>',
                  _svg_bars([f.name for f in ks], values, [(-math.log10(report.settings.alpha), "#cf222e", "α")],
                            [f.level for f in ks])]  # fmt: skip
    psi_features = [f for f in _ordered(report) if f.psi is not None]
    if psi_features:
        s = report.settings
        parts += ["<h2>PSI</h2>", f'<p class="meta">Warning at {s.psi_warn} (amber), drift at {s.psi_alert} (red).</p>',
                  _svg_bars([f.name for f in psi_features], [f.psi or 0.0 for f in psi_features],
                            [(s.psi_warn, "#d4a72c", "warn"), (s.psi_alert, "#cf222e", "drift")],
                            [f.level for f in psi_features])]  # fmt: skip
        for f in psi_features:
            if f.buckets and f.level in ("alert", "warn"):
                parts.append(f"<details open><summary>{e(f.name)}: reference vs current share by bucket</summary>"
                             + _svg_buckets(f) + "</details>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_FILL = {"alert": "#cf222e", "warn": "#d4a72c", "ok": "#2da44e", "unknown": "#8c959f"}


def _svg_bars(labels: list[str], values: list[float], rules: list[tuple[float, str, str]], levels: list[str]) -> str:
    """Horizontal bars, one per feature, with vertical threshold rules."""
    e = _html.escape
    label_w, bar_w, row_h = 200, 520, 22
    top = max([*values, *(r[0] for r in rules), 1e-12]) * 1.1
    height = row_h * len(labels) + 30
    out = [f'<svg role="img" width="{label_w + bar_w + 80}" height="{height}" '
           f'viewBox="0 0 {label_w + bar_w + 80} {height}" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    for i, (label, value, level) in enumerate(zip(labels, values, levels)):
        y = 20 + i * row_h
        width = max(bar_w * value / top, 1)
        short = label if len(label) <= 28 else label[:27] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{e(short)}<title>{e(label)}</title></text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" fill="{_FILL[level]}"/>'
                   f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{_num(value)}</text>')  # fmt: skip
    for value, colour, name in rules:
        x = label_w + bar_w * value / top
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{height - 4}" stroke="{colour}" '
                   f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="12" fill="{colour}">{e(name)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _svg_buckets(f: FeatureDrift) -> str:
    """Paired bars per bucket: reference (grey) and current (blue) shares."""
    e = _html.escape
    buckets = f.buckets[:40]
    col_w, height, base = 36, 180, 150
    top = max([b["reference"] for b in buckets] + [b["current"] for b in buckets] + [1e-9]) * 1.1
    width = max(260, 100 + col_w * len(buckets))  # room for the legend and the last slanted label
    out = [f'<svg role="img" width="{width}" height="{height + 40}" xmlns="http://www.w3.org/2000/svg">',
           '<rect x="40" y="4" width="10" height="10" fill="#8c959f"/><text x="54" y="13">reference</text>',
           '<rect x="130" y="4" width="10" height="10" fill="#0969da"/><text x="144" y="13">current</text>']  # fmt: skip
    for i, b in enumerate(buckets):
        x = 40 + i * col_w
        for j, (key, colour) in enumerate((("reference", "#8c959f"), ("current", "#0969da"))):
            h = (base - 20) * b[key] / top
            out.append(f'<rect x="{x + 4 + j * 14}" y="{base - h:.1f}" width="13" height="{h:.1f}" fill="{colour}">'
                       f"<title>{e(str(b['label']))} {key}: {b[key]:.2%}</title></rect>")  # fmt: skip
        label = str(b["label"])[:14]
        out.append(f'<text transform="translate({x + 16},{base + 8}) rotate(45)">{e(label)}</text>')
    out.append("</svg>")
    return "".join(out)
