"""``mlpipex canary run``: judge the canary step by step and move traffic, or roll back.

Each step: canary and stable samples from the metrics source, a Mann–Whitney
judgement per metric against its margin, then advance to the next step, hold, or
roll back. Every decision is recorded on the InferenceService, so a crashed runner
resumes where it was. Exit 0 when the canary reached 100%, 1 when it was rolled
back, 0 after one step with ``--once`` unless that step rolled back.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mlpipex.commands._deploy_common import add_cluster_options, report_step, rollouts, say
from mlpipex.errors import EXIT_GATE_FAILED, EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("canary", help="canary analysis")
    actions = parser.add_subparsers(dest="canary_command", metavar="ACTION", required=True)
    run_parser = actions.add_parser("run", help="judge the canary step by step; advance, hold or roll back")
    add_cluster_options(run_parser)
    run_parser.add_argument("--metrics-file", metavar="FILE",
                            help='samples as {"canary": {metric: [...]}, "stable": {...}} (default: deploy.monitor or deploy.prometheus; see mlpipex.rollouts.metrics_source)')  # fmt: skip
    run_parser.add_argument("--once", action="store_true", help="judge one step and stop")
    run_parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.config.durations import parse_duration
    from mlpipex.providers import provider_for
    from mlpipex.rollouts import environment, metrics_source
    from mlpipex.stats.canary import Action

    config = load_config(args.config, check_files=False)
    env = environment(config, args.env)
    flow = rollouts(args)
    provider = provider_for(args.provider, strict=args.strict_report)
    source = metrics_source(config, env, samples_file=Path(args.metrics_file)) if args.metrics_file else None
    while True:
        outcome = flow.canary_step(config, env, source)
        if outcome is None:
            state = flow.status(config, env).state
            say(f"{env.name}: no canary in progress ({state.artifact or 'nothing'} at {state.traffic}%)")
            return EXIT_OK
        assert outcome.step is not None  # the CLI's steps are never "already done" (not resumable)
        step = outcome.step
        say(outcome.event.message)
        for warning in outcome.warnings:
            sys.stderr.write(warning + "\n")
        if step.decision.action is not Action.HOLD:  # a hold moves nothing: no status for it
            report_step(provider, outcome.event, outcome.warnings)
        if step.decision.action is Action.ROLLBACK:
            return EXIT_GATE_FAILED
        if args.once or step.traffic_after == 100:
            return EXIT_OK
        time.sleep(parse_duration(env.canary.interval) if env.canary else 0)
