"""Promotion rules between environments, with plain-words reasons."""

from __future__ import annotations

import datetime as dt

from mlpipex.config.model import EnvironmentConfig, PromotionRules
from mlpipex.kserve.promotion import parse_duration, unmet_rules
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
