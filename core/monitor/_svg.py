"""Charts as inline SVG text (pure): numbers in, markup out, no script and no network.

Server-rendered SVG instead of a JavaScript chart library: the dashboard must draw
with no network access, SVG needs nothing shipped beside the package, each chart
is a pure function a unit test can check, and the page works with scripts off.
Every text is escaped; every series is drawn as one ``<path>`` whose points carry
the data (``data-points`` gives their count), thresholds as dashed lines.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Series", "bar_chart", "line_chart"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")
WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 26, 34


@dataclass(frozen=True)
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"


def _scale(lo: float, hi: float, a: float, b: float) -> Callable[[float], float]:
    span = hi - lo or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _legend(entries: list[tuple[str, str]]) -> tuple[str, int]:
    """Legend entries left to right, wrapping onto more rows; the markup and the rows used."""
    parts, x, row = [], LEFT + 8.0, 0
    for name, color in entries:
        width = 22 + 6.2 * len(name)
        if x + width > WIDTH - RIGHT and x > LEFT + 8:
            x, row = LEFT + 8.0, row + 1
        y = HEIGHT - 14 + row * 14
        parts.append(f'<g class="legend"><rect x="{x:.0f}" y="{y}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14:.0f}" y="{y + 9}" font-size="11">{html.escape(name)}</text></g>')  # fmt: skip
        x += width
    return "".join(parts), row + 1 if entries else 1


def _frame(title: str, body: list[str], legend: list[tuple[str, str]], kind: str) -> str:
    items, rows = _legend(legend)
    height = HEIGHT + 14 * (rows - 1)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" aria-label="{html.escape(title)}">'
            f'<title>{html.escape(title)}</title>'
            f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>'
            + "".join(body) + items + "</svg>")  # fmt: skip


def _axes(y_lo: float, y_hi: float, y_of: Callable[[float], float]) -> list[str]:
    parts = [f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>']  # fmt: skip
    for i in range(5):
        value = y_lo + (y_hi - y_lo) * i / 4
        y = y_of(value)
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{_fmt(value)}</text>'
                     f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>')  # fmt: skip
    return parts


def _empty(title: str, kind: str) -> str:
    return _frame(title, [f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="12" '
                          'fill="#888">no data yet</text>'], [], kind)  # fmt: skip


def line_chart(title: str, series: Sequence[Series], *, thresholds: Mapping[str, float] | None = None,
               x_label: str = "", y_min: float | None = None) -> str:  # fmt: skip
    """Lines over a shared x axis (times as epoch seconds, or indices); gaps where y is None."""
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys) if y is not None and math.isfinite(y)]
    if not points:
        return _empty(title, "line")
    limits = [v for v in (thresholds or {}).values() if math.isfinite(v)]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + limits
    y_lo = min(ys) if y_min is None else min(y_min, *ys)
    y_hi = max(ys) * 1.05 if max(ys) > 0 else max(ys) + 1
    x_of = _scale(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    y_of = _scale(y_lo, y_hi, HEIGHT - BOTTOM, TOP)
    body = _axes(y_lo, y_hi, y_of)
    legend = []
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        commands, pen_up, count = [], True, 0
        for x, y in zip(s.xs, s.ys):
            if y is None or not math.isfinite(y):
                pen_up = True
                continue
            commands.append(f"{'M' if pen_up else 'L'}{x_of(x):.1f},{y_of(y):.1f}")
            pen_up, count = False, count + 1
        if count:
            if count == 1:  # a single point still shows
                body.append(f'<circle cx="{commands[0][1:].split(",")[0]}" cy="{commands[0].split(",")[1]}" r="3" fill="{color}"/>')
            body.append(f'<path class="series" data-series="{html.escape(s.name)}" data-points="{count}" '
                        f'd="{" ".join(commands)}" fill="none" stroke="{color}" stroke-width="2"/>')  # fmt: skip
            legend.append((s.name, color))
    for name, value in (thresholds or {}).items():
        if math.isfinite(value):
            y = y_of(value)
            body.append(f'<line class="threshold" data-threshold="{html.escape(name)}" x1="{LEFT}" y1="{y:.1f}" '
                        f'x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d62728" stroke-dasharray="5,4"/>'
                        f'<text x="{WIDTH - RIGHT - 2}" y="{y - 3:.1f}" font-size="10" text-anchor="end" fill="#d62728">'
                        f'{html.escape(name)} {_fmt(value)}</text>')  # fmt: skip
    if x_label:
        body.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="end">'
                    f'{html.escape(x_label)}</text>')  # fmt: skip
    return _frame(title, body, legend, "line")


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *,
              thresholds: Mapping[str, float] | None = None, highlight: Sequence[bool] | None = None) -> str:  # fmt: skip
    """One bar per label; highlighted bars (e.g. drifted features) in red."""
    if not values or not any(math.isfinite(v) for v in values):
        return _empty(title, "bar")
    finite = [v if math.isfinite(v) else 0.0 for v in values]
    limits = [v for v in (thresholds or {}).values() if math.isfinite(v)]
    y_hi = max([*finite, *limits, 1e-12]) * 1.1
    y_of = _scale(0.0, y_hi, HEIGHT - BOTTOM, TOP)
    body = _axes(0.0, y_hi, y_of)
    slot = (WIDTH - LEFT - RIGHT) / len(finite)
    for index, (label, value) in enumerate(zip(labels, finite)):
        red = bool(highlight and highlight[index])
        x, y = LEFT + index * slot + slot * 0.15, y_of(value)
        body.append(f'<rect class="bar" data-label="{html.escape(label)}" data-value="{value:.6g}" x="{x:.1f}" '
                    f'y="{y:.1f}" width="{slot * 0.7:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" '
                    f'fill="{"#d62728" if red else PALETTE[0]}"><title>{html.escape(label)}: {_fmt(value)}</title></rect>')  # fmt: skip
        if len(finite) <= 24:
            body.append(f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 12}" font-size="9" text-anchor="middle">'
                        f'{html.escape(label[:10])}</text>')  # fmt: skip
    for name, value in (thresholds or {}).items():
        y = y_of(value)
        body.append(f'<line class="threshold" data-threshold="{html.escape(name)}" x1="{LEFT}" y1="{y:.1f}" '
                    f'x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d62728" stroke-dasharray="5,4"/>'
                    f'<text x="{WIDTH - RIGHT - 2}" y="{y - 3:.1f}" font-size="10" text-anchor="end" fill="#d62728">'
                    f'{html.escape(name)} {_fmt(value)}</text>')  # fmt: skip
    return _frame(title, body, [], "bar")
