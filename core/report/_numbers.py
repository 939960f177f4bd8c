"""Numbers as people read them: 3 significant digits for times and ratios, 4 decimals for scores."""

from __future__ import annotations

import math
from typing import Any

from mlpipex.gates.result import Measurement

MISSING = "—"


def significant(value: float, digits: int = 3) -> str:
    """Positional notation (never ``1e-05``) with ``digits`` significant digits;
    large values keep all their integer digits."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    # Rounding may carry into a new digit (0.09996 -> 0.1000): one decimal fewer then.
    if decimals and len(text.lstrip("-").replace(".", "").lstrip("0")) > digits:
        text = f"{value:.{decimals - 1}f}"
    return text


def _float(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if unit:
        return significant(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.3g}"


def number(value: Any, unit: str = "", *, show_unit: bool = True) -> str:
    """One value with its unit: ``1.23 ms``, ``0.957×``, ``0.9766``, ``1,024``, ``—``.

    The unit also picks the precision: 3 significant digits with a unit (times,
    ratios, sizes), 4 decimals without one (metrics).
    """
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    text = f"{value:,}" if isinstance(value, int) else _float(float(value), unit)
    if not unit or not show_unit:
        return text
    return f"{text}{unit}" if unit in ("×", "%") else f"{text} {unit}"


def interval(m: Measurement, confidence: float | None) -> str:
    """``1.23 ms (95% CI 1.10–1.31)`` when the measurement carries an interval."""
    text = number(m.value, m.unit)
    if m.ci_low is None or m.ci_high is None:
        return text
    level = f"{confidence:.0%} CI" if confidence else "CI"
    low, high = (number(v, m.unit, show_unit=False) for v in (m.ci_low, m.ci_high))
    return f"{text} ({level} {low}–{high})"


def change(m: Measurement) -> str:
    """The candidate's value minus the baseline's, signed: ``+0.0107``."""
    if not isinstance(m.value, (int, float)) or isinstance(m.value, bool) or m.baseline is None:
        return MISSING
    delta = float(m.value) - float(m.baseline)
    if not math.isfinite(delta):
        return MISSING
    text = number(delta, m.unit)
    return text if text.startswith("-") else "+" + text


def duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return MISSING
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def plain(value: float) -> str:
    """A number mermaid's parser accepts: positional, 3 significant digits, no trailing zeros."""
    if not math.isfinite(value):
        return "0"
    text = significant(value)
    return text.rstrip("0").rstrip(".") if "." in text else text
