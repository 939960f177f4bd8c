"""Threshold expressions such as ``">= 0.90"``: parsed once, evaluated purely."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Threshold", "ThresholdSyntaxError", "parse_threshold"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_PATTERN = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class ThresholdSyntaxError(ValueError):
    """The text is not ``OP NUMBER`` with OP one of >=, >, <=, <, ==."""


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float

    def check(self, measured: float) -> bool:
        """NaN never satisfies a threshold: a metric that cannot be computed fails."""
        if measured is None or math.isnan(measured):
            return False
        return _OPERATORS[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_threshold(text: object) -> Threshold:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ThresholdSyntaxError(f"expected a string such as \">= 0.90\", got {text!r}")
    if isinstance(text, (int, float)):
        # A bare number is ambiguous (is 0.9 a floor or a ceiling?): ask for an operator.
        raise ThresholdSyntaxError(
            f"a bare number ({text!r}) does not say which side passes; "
            f'write ">= {text}" or "<= {text}"'
        )
    match = _PATTERN.match(text)
    if not match:
        raise ThresholdSyntaxError(
            f"{text!r} is not a threshold; write an operator (>=, >, <=, <, ==) and a number, "
            'e.g. ">= 0.90"'
        )
    return Threshold(match.group(1), float(match.group(2)))
