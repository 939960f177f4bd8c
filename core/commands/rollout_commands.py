"""``mlpipex promote``, ``mlpipex rollback`` and ``mlpipex status`` for one environment."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mlpipex.commands._deploy_common import (
    actor,
    add_cluster_options,
    cluster,
    environment,
    roll_out,
    say,
)
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    promote = commands.add_parser("promote", help="move more traffic to the model being rolled out")
    add_cluster_options(promote)
    promote.add_argument("--to", type=int, metavar="PERCENT", help="target share (default: the next canary step)")
    promote.add_argument("--approvals", type=int, default=0, metavar="N",
                         help="approving reviews the change has (the App or CI passes it)")  # fmt: skip
    promote.set_defaults(handler=run_promote)
    rollback = commands.add_parser("rollback", help="return to the previous good model")
    add_cluster_options(rollback)
    rollback.set_defaults(handler=run_rollback)
    status = commands.add_parser("status", help="revisions, traffic split, readiness and history")
    add_cluster_options(status)
    status.add_argument("--json", action="store_true", help="print the state as JSON")
    status.set_defaults(handler=run_status)


def _act(args: argparse.Namespace, action: str, plan: Any) -> int:
    from mlpipex.config import load_config

    config = load_config(args.config, check_files=False)
    env = environment(config, args.env)
    return roll_out(args, config, env, action, lambda current: plan(config, env, current))


def run_promote(args: argparse.Namespace) -> int:
    """Within an environment: the next canary step. Into one: its rules first, then its first step."""
    from mlpipex.kserve.rollout import plan_promote

    def plan(config: Any, env: Any, current: Any) -> Any:
        source = _source_of(config, env, current, args)
        if source is None:
            return plan_promote(config, env, current, args.to, by=actor())
        return _promote_across(config, env, current, source, args)

    return _act(args, "promote", plan)


def _source_of(config: Any, env: Any, current: Any, args: argparse.Namespace) -> Any:
    """The environment whose model should come here, when it differs from what runs here."""
    from mlpipex.kserve.rollout import state_of

    if not env.rules.after:
        return None
    source_env = next(e for e in config.deploy.environments if e.name == env.rules.after)
    source_obj = cluster(source_env, args).get(source_env.namespace, config.deploy.name or config.model.name)
    source = state_of(source_obj)
    if source.artifact is None or source.artifact == state_of(current).artifact:
        return None
    return source_env, source, source_obj


def _promote_across(config: Any, env: Any, current: Any, source: Any, args: argparse.Namespace) -> Any:
    from mlpipex.kserve.cluster import ready
    from mlpipex.kserve.promotion import plan_promote_into

    source_env, state, source_obj = source
    return plan_promote_into(config, env, current, source_env, state, source_ready=ready(source_obj),
                             approvals=args.approvals, percent=args.to, by=actor())  # fmt: skip


def run_rollback(args: argparse.Namespace) -> int:
    from mlpipex.kserve.rollout import plan_rollback

    return _act(args, "rollback", lambda config, env, current: plan_rollback(config, env, current, by=actor()))


def run_status(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.kserve.cluster import blockers, ready
    from mlpipex.kserve.rollout import state_of
    from mlpipex.rollouts._steps import traffic_line

    config = load_config(args.config, check_files=False)
    env = environment(config, args.env)
    name = config.deploy.name or config.model.name
    current = cluster(env, args).get(env.namespace, name)
    state = state_of(current)
    if args.json:
        say(json.dumps({"environment": env.name, "name": name, "artifact": state.artifact, "stable": state.stable,
                        "traffic": state.traffic, "ready": bool(current and ready(current)),
                        "history": list(state.history), "status": (current or {}).get("status")}, indent=2))  # fmt: skip
        return EXIT_OK
    if current is None:
        say(f"{env.name}: {name} is not deployed in namespace {env.namespace}")
        return EXIT_OK
    lines = [f"{env.name}: {env.namespace}/{name} — {'Ready' if ready(current) else 'NOT Ready: ' + blockers(current)}",
             f"  serving   {state.artifact} at {state.traffic}%",
             f"  stable    {state.stable or '—'}",
             f"  traffic   {traffic_line(current)}",
             f"  url       {(current.get('status') or {}).get('url', '—')}",
             "  history"]  # fmt: skip
    for entry in reversed(state.history[-10:]):
        lines.append(f"    {entry.get('at')}  {entry.get('action'):<8} {entry.get('traffic'):>3}%  "
                     f"{entry.get('artifact')}  by {entry.get('by', '?')}")  # fmt: skip
    from mlpipex.kserve.analysis import canary_record

    decisions = canary_record(current).get("decisions", [])
    if decisions:
        lines.append("  canary analysis (why traffic moved)")
        for decision in reversed(decisions[-5:]):
            lines.append(f"    {decision.get('at')}  {decision.get('action'):<8} → {decision.get('traffic'):>3}%  "
                         f"{decision.get('reason')}")  # fmt: skip
    say("\n".join(lines))
    return EXIT_OK
