"""Cron expressions for retraining.schedule: parsing, matching, and errors that name the field."""

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
])  # fmt: skip
def test_matching(expr, yes, no):
    cron = parse_cron(expr)
    assert all(cron.matches(at(t)) for t in yes)
    assert not any(cron.matches(at(t)) for t in no)


@pytest.mark.parametrize(("expr", "says"), [
    ("0 6 * *", "has 4 fields"), ("61 * * * *", "minute: `61` is outside 0-59"), ("* 24 * * *", "hour"),
    ("* * 0 * *", "day of month"), ("* * * 13 *", "month"), ("* * * * 8", "day of week"),
    ("*/0 * * * *", "step must be at least 1"), ("5-1 * * * *", "outside"), ("@daily", "has 1 fields"),
    ("* * * JAN *", "month: `JAN` is not a number"),
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
