"""``mlpipex validate``: check mlpipex.yaml and everything the gates would reject about their inputs; say when its schedules fire next."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from mlpipex.commands import config_option
from mlpipex.errors import EXIT_BAD_INPUT, EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate", help="check mlpipex.yaml, the holdout, the model and the baseline without running the gates"
    )
    config_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.gates import select_gates
    from mlpipex.gates.inputs import input_problems

    config = load_config(args.config)
    problems = input_problems(config)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        print(f"error: {config.source.name} names inputs the gates would reject ({count}):", file=sys.stderr)
        for problem in problems:
            print("  " + str(problem).replace("\n", "\n  "), file=sys.stderr)
        return EXIT_BAD_INPUT
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
