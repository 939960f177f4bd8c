"""The helpers each contract is defined once in: durations, retry waits (issue 13)."""

from __future__ import annotations

import email.utils

import pytest

from mlpipex.config.durations import parse_duration
from mlpipex.retry import backoff, retry_after


def test_durations_are_parsed_by_the_format_the_config_validates() -> None:
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300 and parse_duration("7d") == 604800
    for bad in ("5", "1.5h", "m", "5 m", "-1s"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0 and retry_after(None) is None and retry_after("soon") is None
    date = email.utils.formatdate(1_000_030.0, usegmt=True)
    assert retry_after(date, now=1_000_000.0) == pytest.approx(30.0)  # the monitor's outbox read only seconds


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(a, base=0.2, cap=3) for a in range(6)] == [0.2, 0.4, 0.8, 1.6, 3.0, 3.0]
