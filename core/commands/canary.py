"""``mlpipex canary run``: judge the canary step by step and move traffic, or roll back.

Each step: canary and stable samples from the metrics source, a Mann–Whitney
judgement per metric against its margin, then advance to the next step, hold, or
roll back. Every decision is recorded on the InferenceService, so a crashed runner
resumes where it was. Exit 0 when the canary reached 100%, 1 when it was rolled
back, 0 after one step with ``--once`` unless that step rolled back.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from mlpipex.commands._deploy_common import (
    actor,
    add_cluster_options,
    cluster,
    environment,
    report_step,
    say,
    schema,
)
from mlpipex.errors import EXIT_GATE_FAILED, EXIT_OK, InputError


def register(commands: Any) -> None:
    parser = commands.add_parser("canary", help="canary analysis")
    actions = parser.add_subparsers(dest="canary_command", metavar="ACTION", required=True)
    run_parser = actions.add_parser("run", help="judge the canary step by step; advance, hold or roll back")
    add_cluster_options(run_parser)
    run_parser.add_argument("--metrics-file", metavar="FILE",
                            help='samples as {"canary": {metric: [...]}, "stable": {...}} (default: deploy.monitor or deploy.prometheus)')  # fmt: skip
    run_parser.add_argument("--once", action="store_true", help="judge one step and stop")
    run_parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.kserve.promotion import parse_duration
    from mlpipex.kserve.rollout import state_of
    from mlpipex.rollouts._steps import canary_step, traffic_line
    from mlpipex.providers import DeployEvent, provider_for
    from mlpipex.stats.canary import Action

    config = load_config(args.config, check_files=False)
    env = environment(config, args.env)
    if env.canary is None:
        raise InputError(f"environment {env.name} has no canary settings", fix="add deploy.environments[].canary")
    kube = cluster(env, args)
    crd = schema(args, kube)
    name = config.deploy.name or config.model.name
    source = _source(args, config, env)
    provider = provider_for(args.provider, strict=args.strict_report)
    while True:
        step = canary_step(kube, crd, config, env, source, timeout=args.timeout)
        if step is None:
            state = state_of(kube.get(env.namespace, name))
            say(f"{env.name}: no canary in progress ({state.artifact or 'nothing'} at {state.traffic}%)")
            return EXIT_OK
        decision = step.decision
        line = (f"{env.name}: {decision.action.value} at {step.traffic_before}% → {step.traffic_after}%: "
                f"{decision.reason} ({traffic_line(step.result)})")  # fmt: skip
        say(line)
        if decision.action is not Action.HOLD:  # a hold moves nothing: no status for it
            moved = state_of(step.service)
            report_step(provider, DeployEvent(f"canary {decision.action.value}", config.model.name, env.name, name,
                                              ok=decision.action is Action.ADVANCE, message=line,
                                              artifact=moved.artifact, stable=moved.stable, traffic=moved.traffic,
                                              by=actor() or "mlpipex canary"))  # fmt: skip
        if decision.action is Action.ROLLBACK:
            return EXIT_GATE_FAILED
        if args.once or step.traffic_after == 100:
            return EXIT_OK
        time.sleep(parse_duration(env.canary.interval))


def _source(args: argparse.Namespace, config: Any, env: Any) -> Any:
    from mlpipex.kserve.analysis import FileSource, PrometheusSource
    from mlpipex.kserve.promotion import parse_duration

    if args.metrics_file:
        return FileSource(Path(args.metrics_file))
    if config.deploy.monitor is not None:
        from mlpipex.monitor import MonitorSource

        return MonitorSource(config.deploy.monitor.url, timeout=config.deploy.monitor.timeout)
    prometheus = config.deploy.prometheus
    if prometheus is None:
        raise InputError("no metrics source for the canary analysis",
                         fix="set deploy.prometheus.url (with a query per canary metric) or deploy.monitor.url, "
                             "or pass --metrics-file")  # fmt: skip
    return PrometheusSource(prometheus.url, {m.name: m.query for m in env.canary.metrics},
                            window_seconds=parse_duration(env.canary.interval) or 60,
                            step_seconds=prometheus.step_seconds, timeout=prometheus.timeout)  # fmt: skip
