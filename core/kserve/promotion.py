"""Promotion rules between environments (pure): which rule is not met, in plain words."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from mlpipex.config.durations import parse_duration
from mlpipex.config.model import EnvironmentConfig
from mlpipex.errors import InputError
from mlpipex.kserve.rollout import State

if TYPE_CHECKING:
    from mlpipex.config import Config

__all__ = ["plan_promote_into", "unmet_rules"]


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def unmet_rules(
    target: EnvironmentConfig,
    source: State,
    *,
    source_ready: bool,
    approvals: int,
    now: dt.datetime,
) -> list[str]:
    """Why ``source``'s model may not go to ``target`` yet; empty when it may."""
    rules = target.rules
    problems = []
    after = rules.after or "the previous environment"
    if source.artifact is None:
        return [f"{after} runs no model yet"]
    if source.in_canary:
        problems.append(f"{after} is still rolling out {source.artifact} ({source.traffic}% of traffic)")
    if not source_ready:
        problems.append(f"{after} is not Ready")
    since = next((h.get("at") for h in reversed(source.history)
                  if h.get("artifact") == source.artifact and h.get("traffic") == 100), None)  # fmt: skip
    needed = parse_duration(rules.healthy_for)
    if needed and since:
        ran = (now - _parse_time(since)).total_seconds()
        if ran < needed:
            problems.append(f"{after} has run it for {_human(ran)}; {rules.healthy_for} required")
    elif needed and not since:
        problems.append(f"{after} has no record of when it reached 100%")
    if approvals < rules.approvals:
        problems.append(f"{approvals} approval{'s' if approvals != 1 else ''}; {rules.approvals} required")
    return problems


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def plan_promote_into(config: Config, target: EnvironmentConfig, current: dict[str, Any] | None,
                      source_env: EnvironmentConfig, source: State, *, source_ready: bool, approvals: int,
                      percent: int | None = None, by: str | None = None,
                      now: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """``source``'s model into ``target`` once ``target``'s rules hold (its first canary step,
    or ``percent``); InputError naming every unmet rule otherwise."""
    from mlpipex.kserve.manifests import Rollout
    from mlpipex.kserve.rollout import plan_deploy

    moment = now or dt.datetime.now(dt.timezone.utc)
    problems = unmet_rules(target, source, source_ready=source_ready, approvals=approvals, now=moment)
    if problems:
        raise InputError(f"{source.artifact} cannot go to {target.name} yet: " + "; ".join(problems),
                         fix=f"wait, or fix {source_env.name}; the rules are deploy.environments[{target.name}].rules")  # fmt: skip
    assert source.artifact is not None
    return plan_deploy(config, target, current, Rollout(source.artifact, percent, deployed_by=by),
                       now=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
