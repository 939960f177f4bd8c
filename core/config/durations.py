"""Durations as mlpipex.yaml writes them (``30s``, ``5m``, ``2h``, ``7d``): the one format and its parser.

The config validates with :data:`DURATION` and everything that waits (the canary's
interval, promotion's ``healthy_for``, the monitor's schedule and join timeout, the
App's canary jobs) reads the number with :func:`parse_duration`.
"""

from __future__ import annotations

import re

__all__ = ["DURATION", "parse_duration"]

DURATION = r"^\d+(s|m|h|d)$"
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ValueError for anything that is not a duration."""
    if not re.fullmatch(DURATION, text):
        raise ValueError(f"not a duration: {text!r} (write e.g. 30s, 5m, 2h or 7d)")
    return int(text[:-1]) * _SECONDS[text[-1]]
