"""Promotion rules between environments, with plain-words reasons."""

from __future__ import annotations

import datetime as dt

from mlpipex.config.durations import parse_duration
from mlpipex.config.model import EnvironmentConfig, PromotionRules
from mlpipex.kserve.promotion import unmet_rules
from mlpipex.kserve.rollout import State

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
PROD = EnvironmentConfig(name="production", rules=PromotionRules(after="staging", healthy_for="1h", approvals=1))
A = "ghcr.io/a/m@sha256:" + "a" * 64


def staged(at: str, traffic: int = 100) -> State:
    return State(A, A if traffic == 100 else None, traffic, ({"action": "deploy", "artifact": A, "traffic": traffic, "at": at},))


def test_all_rules_met():
    assert unmet_rules(PROD, staged("2026-11-28T10:00:00Z"), source_ready=True, approvals=1, now=NOW) == []


def test_each_rule_says_what_is_missing():
    problems = unmet_rules(PROD, staged("2026-11-28T11:30:00Z"), source_ready=False, approvals=0, now=NOW)
    assert "staging is not Ready" in problems
    assert "staging has run it for 30m; 1h required" in problems
    assert "0 approvals; 1 required" in problems
    rolling = unmet_rules(PROD, staged("2026-11-28T09:00:00Z", traffic=25), source_ready=True, approvals=1, now=NOW)
    assert any("still rolling out" in p for p in rolling)
    assert unmet_rules(PROD, State(None, None, 0, ()), source_ready=False, approvals=1, now=NOW) == ["staging runs no model yet"]


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200 and parse_duration("0s") == 0


def test_canary_share_can_go_up_or_down_but_only_during_a_canary(quickstart):
    import pytest

    from mlpipex.config import load_config
    from mlpipex.config.model import CanaryConfig
    from mlpipex.errors import InputError
    from mlpipex.kserve import Rollout
    from mlpipex.kserve.rollout import plan_canary, plan_deploy, state_of

    config = load_config(quickstart / "mlpipex.yaml", check_files=False)
    env = EnvironmentConfig(name="production", canary=CanaryConfig(steps=[10, 50, 100]))
    first = plan_deploy(config, env, None, Rollout(A), now="2026-11-28T10:00:00Z")
    with pytest.raises(InputError, match="no canary in progress"):
        plan_canary(config, env, first, 30)
    b = A.replace("a" * 64, "b" * 64)
    canary = plan_deploy(config, env, first, Rollout(b), now="2026-11-28T10:01:00Z")
    up = plan_canary(config, env, canary, 40, by="octocat", now="2026-11-28T10:02:00Z")
    assert state_of(up).traffic == 40 and state_of(up).history[-1]["action"] == "canary"
    down = plan_canary(config, env, up, 5, by="octocat", now="2026-11-28T10:03:00Z")
    assert state_of(down).traffic == 5 and state_of(down).stable == A
    full = plan_canary(config, env, down, 100, now="2026-11-28T10:04:00Z")
    assert state_of(full).traffic == 100 and state_of(full).artifact == b and not state_of(full).in_canary
