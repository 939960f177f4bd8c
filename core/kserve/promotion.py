"""Promotion rules between environments (pure): which rule is not met, in plain words."""

from __future__ import annotations

import datetime as dt
import re

from mlpipex.config.model import EnvironmentConfig
from mlpipex.kserve.rollout import State

__all__ = ["parse_duration", "unmet_rules"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


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
