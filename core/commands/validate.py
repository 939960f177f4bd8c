"""``mlpipex validate``: check mlpipex.yaml and the files it names; say when its schedules fire next."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from mlpipex.commands import config_option
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("validate", help="check mlpipex.yaml and the files it names")
    config_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.gates import select_gates

    config = load_config(args.config)
    gates = ", ".join(select_gates(config))
    print(f"{config.source}: valid ({config.model.name}@{config.model.version}; gates: {gates})")
    schedule = config.retraining.schedule
    if schedule:
        print(schedule_line("retraining.schedule", schedule, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))
    return EXIT_OK


def schedule_line(field: str, schedule: str, now: dt.datetime) -> str:
    """`retraining.schedule `0 6 * * 1` (UTC) next fires 2026-11-30 06:00 (Mon), …` — a typo shows as a surprising date."""
    from mlpipex.config.cron import parse_cron

    times = ", ".join(f"{t:%Y-%m-%d %H:%M} ({t:%a})" for t in parse_cron(schedule).next_times(now, 3))
    return f"{field} `{schedule}` (UTC) next fires {times}"
