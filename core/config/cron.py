"""Five-field cron expressions (minute hour day-of-month month day-of-week), UTC, parsed by croniter.

croniter (maintained, pallets-eco) decides what an expression means: names
(``JAN``, ``MON-FRI``), ``L``, ``N#K``, steps and wrap-around ranges, day of
week 0-7 with 0 and 7 both Sunday, and Vixie cron's day rule (when either day
field starts with ``*`` both must match, otherwise either may). This module
only adds what a config file needs: exactly five ASCII fields, and an error that
names the wrong field and says how to write it. Times are naive UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = ["Cron", "parse_cron"]

# name, range, and what croniter accepts there beyond numbers (said in the fix)
_FIELDS = (
    ("minute", 0, 59, ""),
    ("hour", 0, 23, ""),
    ("day of month", 1, 31, ", `L` (last day)"),
    ("month", 1, 12, ", JAN-DEC"),
    ("day of week", 0, 7, " (0 and 7 are Sunday), SUN-SAT, `N#K` (the K-th weekday N of the month)"),
)
_ASCII_BLANK = re.compile(r"[ \t\n\r\f\v]+")  # str.split() would also split on U+00A0, U+3000…
_BLANKS = " \t\n\r\f\v"
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}  # fmt: skip


@dataclass(frozen=True)
class Cron:
    text: str  # the five fields as written

    def matches(self, moment: dt.datetime) -> bool:
        """Whether the schedule fires in ``moment``'s minute (naive UTC)."""
        return bool(croniter.match(self.text, moment.replace(second=0, microsecond=0)))

    def next_times(self, after: dt.datetime, count: int = 3) -> list[dt.datetime]:
        """The next ``count`` fire times strictly after ``after`` (naive UTC)."""
        it = croniter(self.text, after.replace(tzinfo=None))
        return [it.get_next(dt.datetime) for _ in range(count)]


def _fix(name: str, low: int, high: int, extra: str) -> str:
    return f"fix: write the {name} as N, A-B, */N, A-B/N or a comma list of those, within {low}-{high}{extra}"


def _why(part: str, low: int, high: int) -> str:
    """What is wrong with one field croniter refused: the first reason a person can act on."""
    for item in part.split(","):
        body, slash, step = item.partition("/")
        if slash and not step:
            return f"`{item}` has an empty step after `/`"
        if slash and not step.isdigit():
            return f"step `{step}` is not a number"
        if slash and int(step) < 1:
            return "step must be at least 1"
        for number in re.findall(r"\d+", body.split("#")[0]):
            if not low <= int(number) <= high:
                return f"`{item}` is outside {low}-{high}"
        if not item:
            return "an empty item between commas"
    return f"`{part}` is not a number, name, range or *"


def parse_cron(text: str) -> Cron:
    """Raises ValueError naming the field that is wrong and how to write it."""
    parts = _ASCII_BLANK.split(text.strip(_BLANKS)) if text.strip(_BLANKS) else []
    for part, (name, low, high, extra) in zip(parts, _FIELDS):
        odd = next((c for c in part if not (c.isascii() and c.isprintable())), None)
        if odd is not None:
            what = unicodedata.name(odd, "a control character")
            raise ValueError(f"{name}: `{part}` contains U+{ord(odd):04X} ({what}); cron takes ASCII digits, names and "
                             f"* , - / only, fields separated by ASCII spaces; {_fix(name, low, high, extra)}")  # fmt: skip
    if len(parts) != 5:
        hint = f"; fix: write `{_MACROS[text.strip().lower()]}` for {text.strip()}" if text.strip().lower() in _MACROS else ""
        raise ValueError(f"`{text}` has {len(parts)} fields; cron needs 5: minute hour day-of-month month day-of-week{hint}")
    for i, (name, low, high, extra) in enumerate(_FIELDS):
        alone = " ".join(parts[i] if j == i else "*" for j in range(5))
        if not croniter.is_valid(alone):
            raise ValueError(f"{name}: {_why(parts[i], low, high)}; {_fix(name, low, high, extra)}")
    expression = " ".join(parts)
    try:
        croniter(expression, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError:
        weekday = "" if parts[4].startswith("*") else f" and day of week `{parts[4]}`"
        raise ValueError(f"`{expression}` never fires: no date has day of month `{parts[2]}`, month `{parts[3]}`{weekday}; "
                         "fix: pick a day that the chosen months have") from None  # fmt: skip
    except CroniterError as exc:  # a combination no single field shows
        raise ValueError(f"`{expression}` is not a cron expression croniter accepts ({exc}); "
                         "fix: see `man 5 crontab`") from None  # fmt: skip
    return Cron(expression)
