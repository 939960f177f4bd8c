"""report.json: ``Report.to_dict()`` in insertion order, indented, and always valid JSON.

JSON has no NaN or infinity: they become null. Gate details are meant to be
JSON-ready, but a numpy scalar or array, an enum or a path that slips in is
converted rather than allowed to crash the run that produced the report.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import PurePath
from typing import Any

from mlpipex.gates.result import Report
from mlpipex.report._text import strip_surrogates


def clean(value: Any) -> Any:
    """``value`` with every float finite or None and every string valid UTF-8."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return clean(value.value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clean(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return clean(tolist())
    return _text(str(value))


def _text(text: str) -> str:
    # Lone surrogates (undecodable bytes) cannot be written as UTF-8. Control
    # characters stay: JSON escapes them, and report.json is the faithful record.
    return strip_surrogates(text)


def render_json(report: Report) -> str:
    return json.dumps(clean(report.to_dict()), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
