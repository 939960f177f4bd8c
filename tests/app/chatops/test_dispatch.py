"""Every command the parser knows has exactly one handler in the runner's tables (issue 13 item 5)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the App's runner needs the app extra")

from mlpipex.app.chatops.parser import COMMANDS
from mlpipex.app.commanding import WITH_LOCK, WITHOUT_LOCK


def test_each_parsed_command_is_dispatched_from_one_table() -> None:
    parsed = set(COMMANDS) - {"help"}  # /help is answered by the parser itself
    assert set(WITH_LOCK) | set(WITHOUT_LOCK) == parsed
    assert not set(WITH_LOCK) & set(WITHOUT_LOCK)
    assert {"promote", "canary", "rollback", "retrain"} <= set(WITH_LOCK)  # what changes a model is serialised


def test_lock_takes_no_env_it_would_ignore() -> None:
    """/lock --env was parsed and ignored (the lock is per model, every environment): it is refused
    with the usage now, instead of a lock that looks narrower than it is."""
    from mlpipex.app.chatops.parser import Reply, parse

    for text in ("/lock --env production", "/unlock --env production"):
        reply = parse(text, prefix="/", models=["m"], environments=["production"])
        assert isinstance(reply, Reply) and "no option `--env`" in reply.text
