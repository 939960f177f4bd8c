"""Cron expressions for retraining.schedule: parsing, matching, and errors that name the field.

The meaning is croniter's (tests/config/test_cron_croniter_vectors.py checks agreement on
croniter's own examples); the cases below are the ones issue 20 found the hand-written
parser getting wrong, against croniter and Vixie cron.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mlpipex.config.cron import parse_cron


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


@pytest.mark.parametrize(("expr", "yes", "no"), [
    ("* * * * *", ["2026-11-28 12:34"], []),
    ("0 6 * * 1", ["2026-11-30 06:00"], ["2026-11-30 06:01", "2026-11-28 06:00"]),  # Mondays 06:00
    ("*/15 * * * *", ["2026-11-28 12:45", "2026-11-28 12:00"], ["2026-11-28 12:44"]),
    ("30 2 1 * *", ["2026-12-01 02:30"], ["2026-12-02 02:30"]),
    ("0 0 * * 0", ["2026-11-29 00:00"], ["2026-11-28 00:00"]),  # Sunday as 0
    ("0 0 * * 7", ["2026-11-29 00:00"], ["2026-11-30 00:00"]),  # and as 7
    ("0 9-17/4 * * 1-5", ["2026-11-27 09:00", "2026-11-27 13:00", "2026-11-27 17:00"], ["2026-11-27 11:00", "2026-11-28 09:00"]),
    ("0 0 1,15 * 5", ["2026-12-01 00:00", "2026-11-27 00:00"], ["2026-12-02 00:00"]),  # either day field (Vixie)
    # issue 20: a day-of-week step stops at Saturday (Friday only, not Friday and Sunday)
    ("0 0 * * 5/2", ["2026-11-27 00:00", "2026-12-04 00:00"], ["2026-11-29 00:00", "2026-11-28 00:00"]),
    # Vixie's rule: a day field starting with `*` means both must match (every other weekday, not every day)
    ("0 0 1-31 * */2", ["2026-11-29 00:00", "2026-12-01 00:00"], ["2026-11-30 00:00", "2026-12-02 00:00"]),
    ("0 12 *,10 * 2", ["2026-12-01 12:00", "2026-12-08 12:00"], ["2026-12-10 12:00", "2026-12-02 12:00"]),  # Tuesdays only
    # names, as users write them
    ("0 6 * JAN MON", ["2027-01-04 06:00", "2027-01-11 06:00"], ["2026-11-30 06:00", "2027-01-05 06:00"]),
    ("0 6 * * mon-fri", ["2026-11-30 06:00", "2026-12-04 06:00"], ["2026-11-28 06:00"]),
    ("0 0 L * *", ["2026-11-30 00:00", "2027-02-28 00:00"], ["2026-11-29 00:00"]),  # last day of the month
    ("0 0 * * 1#1", ["2026-12-07 00:00"], ["2026-12-14 00:00"]),  # first Monday
    ("0 22-2 * * *", ["2026-11-28 23:00", "2026-11-28 01:00"], ["2026-11-28 12:00"]),  # a wrap-around range
])  # fmt: skip
def test_matching(expr, yes, no):
    cron = parse_cron(expr)
    assert all(cron.matches(at(t)) for t in yes)
    assert not any(cron.matches(at(t)) for t in no)


@pytest.mark.parametrize(("expr", "says"), [
    ("0 6 * *", "has 4 fields"), ("61 * * * *", "minute: `61` is outside 0-59"), ("* 24 * * *", "hour"),
    ("* * 0 * *", "day of month"), ("* * * 13 *", "month"), ("* * * * 8", "day of week"),
    ("*/0 * * * *", "step must be at least 1"), ("@daily", "has 1 fields.*fix: write `0 0 \\* \\* \\*` for @daily"),
    ("* * * FOO *", "month: `FOO` is not a number, name, range or \\*; fix: write the month as .* JAN-DEC"),
    # issue 20: what the hand-written parser took or let escape as a bare exception
    ("0-10/ * * * *", "minute: `0-10/` has an empty step after `/`"),
    ("0 ² * * *", r"hour: `²` contains U\+00B2 \(SUPERSCRIPT TWO\)"),
    ("0 ٣ * * *", r"hour: `٣` contains U\+0663 \(ARABIC-INDIC DIGIT THREE\)"),
    ("0\u00a00 * * *", r"minute: .* contains U\+00A0 \(NO-BREAK SPACE\)"),
    ("0 0 * * *\u3000", r"day of week: .* contains U\+3000 \(IDEOGRAPHIC SPACE\)"),
    ("0 0 30 2 *", "never fires: no date has day of month `30`, month `2`; fix:"),
])  # fmt: skip
def test_errors_name_the_field(expr, says):
    with pytest.raises(ValueError, match=says):
        parse_cron(expr)


def test_the_config_rejects_a_bad_schedule_with_its_line(write_config, quickstart):
    from mlpipex.config import load_config
    from mlpipex.errors import ConfigError

    text = (quickstart / "mlpipex.yaml").read_text() + "retraining:\n  schedule: '0 25 * * *'\n"
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_files=False)
    assert "retraining.schedule" in str(caught.value) and "hour: `25` is outside 0-23" in str(caught.value)


def test_next_fire_times_are_utc_minutes_after_the_moment():
    cron = parse_cron("0 6 * * MON")
    assert cron.next_times(at("2026-11-30 06:00"), 3) == [at("2026-12-07 06:00"), at("2026-12-14 06:00"), at("2026-12-21 06:00")]
    assert cron.text == "0 6 * * MON" and parse_cron(" 0\t6 * *  1\n").text == "0 6 * * 1"


def test_validate_says_when_the_schedule_fires_next(quickstart, capsys):
    import re

    from mlpipex.cli import main

    text = (quickstart / "mlpipex.yaml").read_text().replace("model:", "retraining:\n  schedule: '0 6 * JAN-MAR MON'\nmodel:", 1)
    path = quickstart / "mlpipex.yaml"
    path.write_text(text)
    assert main(["validate", "-c", str(path)]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("retraining.schedule `0 6 * JAN-MAR MON` (UTC) next fires "), line
    fires = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M") for t in re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", line)]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert len(fires) == 3 and all(t > now and t.weekday() == 0 and t.month <= 3 and t.hour == 6 for t in fires)
    assert fires == sorted(fires) and "(Mon)" in line
