"""Mermaid ``xychart-beta`` charts, which GitHub renders inside comments.

Charts are drawn only from data that is there: a latency chart needs percentile
estimates in ms, a compare chart needs metrics with a baseline value. Mermaid's
parser takes plain decimals only (no ``1e-05``) and quoted labels, so every number
goes through ``plain`` and every label through ``mermaid_label``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlpipex.gates.result import GateResult, Measurement
from mlpipex.report._numbers import plain
from mlpipex.report._text import mermaid_label

MAX_LATENCY_CHARTS = 4
MAX_POINTS = 12
HORIZONTAL_FROM = 7
ROW_PX = 26  # per bar in a horizontal chart: the label's line height and some air
# A line value (SLA, interval end) above this many times the highest bar is named, not
# drawn to scale: on an axis up to a 10 ms SLA, sub-millisecond bars are a pixel high.
OFF_SCALE = 3.0
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
# Bars, then line series in order (GitHub honours mermaid's init directive).
_BLUE, _ORANGE, _RED, _GREY = "#4e79a7", "#f28e2b", "#e15759", "#7f7f7f"


@dataclass(frozen=True)
class Chart:
    title: str  # shown above the chart in markdown
    caption: str  # says which series is which
    source: str  # mermaid source, without the fence


def _series(values: Sequence[float]) -> str:
    return "[" + ", ".join(plain(v) for v in values) + "]"


def _axis(labels: Sequence[str], limit: int) -> str:
    return "[" + ", ".join(mermaid_label(label, limit) for label in labels) + "]"


def _nice_top(value: float) -> float:
    """A round axis maximum a little above ``value``."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    step = 10 ** math.floor(math.log10(value * 1.1)) / 2
    return math.ceil(value * 1.1 / step) * step


def xychart(palette: Sequence[str], title: str, labels: Sequence[str], y_axis: str,
            bar: Sequence[float], lines: Sequence[Sequence[float]], *, label_limit: int = 30) -> str:  # fmt: skip
    """Mermaid ``xychart-beta`` source: one bar series, then line series, colours in order.

    From ``HORIZONTAL_FROM`` labels on the bars run horizontally, one row per label, and
    the chart grows with them: side by side, x labels overlap from about eight features.
    """
    config: dict[str, object] = {"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(palette)}}}
    horizontal = len(labels) >= HORIZONTAL_FROM
    if horizontal:
        config["xyChart"] = {"width": 700, "height": max(300, 110 + ROW_PX * len(labels))}
    rows = [
        f"%%{{init: {json.dumps(config)}}}%%",
        "xychart-beta horizontal" if horizontal else "xychart-beta",
        f"  title {mermaid_label(title, 60)}",
        f"  x-axis {_axis(labels, label_limit)}",
        f"  y-axis {y_axis}",
        f"  bar {_series(bar)}",
        *(f"  line {_series(line)}" for line in lines),
    ]
    return "\n".join(rows)


def _limit(m: Measurement) -> float | None:
    """The SLA bound the gate judged against, as the gate recorded it (a number)."""
    return m.limit if m.limit is not None and math.isfinite(m.limit) else None


def _finite(value: object) -> bool:
    return _number(value) is not None


def _number(value: object) -> float | None:
    """``value`` as a finite float, or None (for strings, booleans, NaN, missing)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _percentile(m: Measurement) -> float:
    match = _PERCENTILE.match(m.name)
    return float(match.group(1)) if match else 0.0


def latency_charts(gate: GateResult | None) -> list[Chart]:
    """One chart per batch size: p50/p95/p99 estimates (bars), the upper ends of their
    confidence intervals and the SLA (lines)."""
    if gate is None:
        return []
    groups: dict[str, list[Measurement]] = {}
    for m in gate.measurements:
        if m.unit == "ms" and _PERCENTILE.match(m.name) and _finite(m.value):
            groups.setdefault(m.group or "", []).append(m)
    confidence = gate.details.get("confidence")
    level = f"{float(confidence):.0%}" if _finite(confidence) else "confidence"
    charts = []
    for group, points in list(groups.items())[:MAX_LATENCY_CHARTS]:
        points = sorted(points, key=_percentile)[:MAX_POINTS]
        estimates = [_number(m.value) or 0.0 for m in points]
        highs = [_number(m.ci_high) for m in points]
        peak = max(estimates)
        sla, implied = _sla_line(points)
        # The axis fits the bars: a value more than OFF_SCALE times the highest bar (a wide
        # interval at p99, a 10 ms SLA over 0.01 ms bars) is named, not drawn to scale.
        in_scale = [v for v in (*estimates, *(h for h in highs if h is not None), *(sla or []))
                    if peak <= 0 or v <= OFF_SCALE * peak]  # fmt: skip
        top = _nice_top(max([*estimates, *in_scale]))
        lines: list[list[float]] = []
        palette = [_BLUE]
        parts = ["bars: estimate"]
        if all(h is not None for h in highs):
            known = [h for h in highs if h is not None]
            lines.append([min(h, top) for h in known])
            palette.append(_ORANGE)
            cut = [f"{m.name} {plain(h)} ms" for m, h in zip(points, known) if h > top]
            parts.append(f"orange line: upper end of the {level} interval"
                         + (f" (cut at the top: {', '.join(cut)})" if cut else ""))  # fmt: skip
        if sla is not None and max(sla) > top:
            parts.append(f"SLA {_sla_text(sla)} ms, off this scale: {plain(max(sla) / peak)}× "
                         f"the highest bar ({plain(peak)} ms)")  # fmt: skip
        elif sla is not None:
            lines.append(sla)
            palette.append(_RED)
            parts.append("red line: SLA" + (f" ({', '.join(implied)} bounded by a higher percentile's limit)"
                                            if implied else ""))  # fmt: skip
        else:
            parts.append("no SLA for every percentile here")
        batch = group.replace("batch=", "batch ") if group else "all batches"
        title = f"Latency at {batch} (ms)"
        source = xychart(palette, title, [m.name for m in points], f'"ms" 0 --> {plain(top)}', estimates, lines)
        charts.append(Chart(title, " · ".join(parts), source))
    return charts


def _sla_text(sla: Sequence[float]) -> str:
    low, high = min(sla), max(sla)
    return plain(high) if low == high else f"{plain(low)}–{plain(high)}"


def _sla_line(points: Sequence[Measurement]) -> tuple[list[float] | None, list[str]]:
    """Each percentile's limit; one without a limit of its own is bounded by the
    nearest higher percentile's (p50 <= p99 <= limit). None if the top has none."""
    limits = [_limit(m) for m in points]
    implied: list[str] = []
    line: list[float] = []
    bound: float | None = None
    for m, limit in reversed(list(zip(points, limits))):
        if limit is not None:
            bound = limit if bound is None else min(bound, limit)
            line.append(limit)
        elif bound is not None:
            implied.append(m.name)
            line.append(bound)
        else:
            return None, []
    return line[::-1], implied[::-1]


def compare_charts(gate: GateResult | None) -> list[Chart]:
    """Candidate (bars) against baseline (line): scores on 0..1 in one chart, other
    metrics (losses, errors) in a second with its own scale."""
    if gate is None:
        return []
    pairs = [(m.name, value, baseline) for m in gate.measurements
             if not m.unit and (value := _number(m.value)) is not None
             and (baseline := _number(m.baseline)) is not None]  # fmt: skip
    if not pairs:
        pairs = _pairs_from_details(gate)
    pairs = pairs[:MAX_POINTS]
    scores = [p for p in pairs if 0 <= p[1] <= 1 and 0 <= p[2] <= 1]
    others = [p for p in pairs if p not in scores]
    charts = []
    caption = "bars: this model · grey line: the baseline"
    if scores:
        low = min(min(p[1], p[2]) for p in scores)
        floor = max(0.0, math.floor((low - 0.05) * 10) / 10)
        source = xychart([_BLUE, _GREY], "Candidate vs baseline", [p[0] for p in scores],
                         f'"value" {plain(floor)} --> 1', [p[1] for p in scores], [[p[2] for p in scores]])  # fmt: skip
        charts.append(Chart("Metrics: candidate vs baseline", caption, source))
    if others:
        values = [v for p in others for v in p[1:]]
        low, high = min(0.0, *values), max(0.0, *values)
        top = _nice_top(high) if high > 0 else 0.0
        bottom = -_nice_top(-low) if low < 0 else 0.0
        if top == bottom:
            top = 1.0
        source = xychart([_BLUE, _GREY], "Candidate vs baseline", [p[0] for p in others],
                         f'"value" {plain(bottom)} --> {plain(top)}', [p[1] for p in others],
                         [[p[2] for p in others]])  # fmt: skip
        title = "Other metrics: candidate vs baseline" if scores else "Metrics: candidate vs baseline"
        charts.append(Chart(title, caption, source))
    return charts


def _pairs_from_details(gate: GateResult) -> list[tuple[str, float, float]]:
    candidate, baseline = gate.details.get("candidate_metrics"), gate.details.get("baseline_metrics")
    if not isinstance(candidate, dict) or not isinstance(baseline, dict):
        return []
    return [(str(k), value, base) for k, v in candidate.items()
            if (value := _number(v)) is not None and (base := _number(baseline.get(k))) is not None]  # fmt: skip
