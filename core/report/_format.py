"""Small, pure formatting helpers shared by the renderers."""

from __future__ import annotations

import math
import re
from typing import Any

from mlpipex.gates.result import Measurement

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(text: str) -> str:
    """Remove characters that XML 1.0 and terminals cannot take."""
    return _CONTROL.sub("", text)


def cell(value: Any, limit: int = 300) -> str:
    """Text safe inside a GitHub markdown table cell: one line, no pipes, no raw HTML."""
    text = strip_control(str(value)).replace("\r", " ").replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


def fence(text: str, lang: str = "text") -> str:
    """A fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{lang}\n{strip_control(text)}\n{marks}"


def number(value: Any, unit: str = "") -> str:
    """Three significant digits for times, four decimals for scores, ints as ints."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif unit == "ms" or unit == "×" or abs(value) >= 1000 or (value != 0 and abs(value) < 1e-3):
        text = f"{value:.3g}"
    else:
        text = f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return f"{text} {unit}".strip() if unit and unit != "×" else (f"{text}×" if unit == "×" else text)


def measured(m: Measurement) -> str:
    """``1.23 ms (95% CI 1.10–1.31)`` when the measurement carries an interval."""
    text = number(m.value, m.unit)
    if m.ci_low is not None and m.ci_high is not None:
        text += f" (CI {number(m.ci_low)}–{number(m.ci_high)})"
    return text


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
