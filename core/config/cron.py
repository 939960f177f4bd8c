"""Five-field cron expressions (minute hour day-of-month month day-of-week), pure.

Enough of cron for schedules in mlpipex.yaml: ``*``, ``*/N``, ``A``, ``A-B``,
``A-B/N`` and comma lists in each field; day of week 0-7 with 0 and 7 both
Sunday; when both day fields are restricted, either may match (as in Vixie cron).
Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Cron", "parse_cron"]

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def matches(self, moment: dt.datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit():
            raise ValueError(f"{name}: step `{step_text}` is not a number")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"{name}: step must be at least 1")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"{name}: `{body}` is not a range like 1-5")
            start, end = int(a), int(b)
        elif body.isdigit():
            start = end = int(body)
            if step_text:
                end = high
        else:
            raise ValueError(f"{name}: `{part}` is not a number, range or *")
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{name}: `{part}` is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> Cron:
    """Raises ValueError naming the field that is wrong."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"`{text}` has {len(parts)} fields; cron needs 5: minute hour day-of-month month day-of-week")
    fields = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, _FIELDS)]
    weekdays = frozenset(d % 7 for d in fields[4])
    return Cron(text, fields[0], fields[1], fields[2], fields[3], weekdays,
                any_day=parts[2] == "*", any_weekday=parts[4] == "*")  # fmt: skip
