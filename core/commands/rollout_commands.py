"""``mlpipex promote``, ``mlpipex rollback`` and ``mlpipex status`` for one environment."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mlpipex.commands._deploy_common import actor, add_cluster_options, roll_out, rollouts, say
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


def _config_and_env(args: argparse.Namespace) -> tuple[Any, Any]:
    from mlpipex.config import load_config
    from mlpipex.rollouts import environment

    config = load_config(args.config, check_files=False)
    return config, environment(config, args.env)


def run_promote(args: argparse.Namespace) -> int:
    """Within an environment: its canary's next step. Into one (``rules.after``): that
    environment's model under its rules first, then the steps here."""
    config, env = _config_and_env(args)
    if env.rules.after:
        return roll_out(args, lambda flow: flow.promote_into(config, env, approvals=args.approvals, by=actor(),
                                                             percent=args.to))  # fmt: skip
    return roll_out(args, lambda flow: flow.promote(config, env, args.to, by=actor()))


def run_rollback(args: argparse.Namespace) -> int:
    config, env = _config_and_env(args)
    return roll_out(args, lambda flow: flow.rollback(config, env, by=actor()))


def run_status(args: argparse.Namespace) -> int:
    from mlpipex.kserve.httproute import route_line, weights_of
    from mlpipex.rollouts import traffic_line

    config, env = _config_and_env(args)
    status = rollouts(args).status(config, env)
    current, state, name = status.obj, status.state, status.name
    if args.json:
        say(json.dumps({"environment": env.name, "name": name, "artifact": state.artifact, "stable": state.stable,
                        "traffic": state.traffic, "ready": status.ready,
                        "history": list(state.history), "status": (current or {}).get("status"),
                        **({"route": dict(weights_of(status.route))} if status.route is not None else {})}, indent=2))  # fmt: skip
        return EXIT_OK
    if current is None:
        say(f"{env.name}: {name} is not deployed in namespace {env.namespace}")
        return EXIT_OK
    lines = [f"{env.name}: {env.namespace}/{name} — {'Ready' if status.ready else 'NOT Ready: ' + status.blockers}",
             f"  serving   {state.artifact} at {state.traffic}%",
             f"  stable    {state.stable or '—'}",
             f"  traffic   {route_line(status.route) if config.deploy.traffic_for(env) else traffic_line(current)}",
             f"  url       {(current.get('status') or {}).get('url', '—')}",
             "  history"]  # fmt: skip
    for entry in reversed(state.history[-10:]):
        lines.append(f"    {entry.get('at')}  {entry.get('action'):<8} {entry.get('traffic'):>3}%  "
                     f"{entry.get('artifact')}  by {entry.get('by', '?')}")  # fmt: skip
    if status.decisions:
        lines.append("  canary analysis (why traffic moved)")
        for decision in reversed(status.decisions[-5:]):
            lines.append(f"    {decision.get('at')}  {decision.get('action'):<8} → {decision.get('traffic'):>3}%  "
                         f"{decision.get('reason')}")  # fmt: skip
    say("\n".join(lines))
    return EXIT_OK
