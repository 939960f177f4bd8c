"""Per-model locks through the real command path: comments in, two workers (two replicas on
PostgreSQL) running them at once, every rollout step slowed down so that unserialised steps overlap.

Issue 12, item 5: a `/lock` holder's own commands still run one at a time. The drill
RELIABILITY.md names ("two replicas, one model"): the same race between two people.
"""

from __future__ import annotations

import threading
import time

import pytest

from mlpipex.app.rollouts import Rollouts
from mlpipex.app.store import Store
from mlpipex.app.worker import Worker

from .conftest import A, B, pull_links


def race(world, monkeypatch, comments: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Deliver ``comments`` on PR 6, run them on two workers with their own stores at once;
    the most rollout steps in flight together, and the App's replies to them."""
    in_flight, most = [0], [0]
    guard = threading.Lock()
    step = Rollouts._step

    def slow_step(self, *args, **kwargs):
        with guard:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            time.sleep(0.5)
            return step(self, *args, **kwargs)
        finally:
            with guard:
                in_flight[0] -= 1

    monkeypatch.setattr(Rollouts, "_step", slow_step)
    for author, body in comments:
        comment = world.github.post_comment(6, author, body)
        world.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": author},
                                        "issue": {"number": 6, "pull_request": pull_links(6)}})  # fmt: skip
    second = Store.from_url(world.app.settings.database_url.get_secret_value())  # another replica's engine
    workers = [world.worker, Worker(second, world.app.registry, github_for=world.app.github_for, settings=world.app.settings)]
    barrier = threading.Barrier(2)

    def one(worker: Worker) -> None:
        barrier.wait()
        worker.run_once()

    threads = [threading.Thread(target=one, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    second.close()
    return most[0], world.github.replies(6)[-len(comments):]


@pytest.mark.parametrize("world", [False, "postgres"], indirect=True)
def test_two_concurrent_commands_of_the_lock_holder_do_not_both_run(world, monkeypatch):
    world.canary_in_production()  # B is production's canary at 10%
    world.comment(6, "lead", "/lock --reason 'release freeze'")
    assert "locked by @lead" in world.last_reply(6)
    most, replies = race(world, monkeypatch, [("lead", "/canary 30"), ("lead", "/canary 40")])
    assert most == 1  # never two steps of the holder at once
    refused = [r for r in replies if "is locked by job:" in r]
    assert len(refused) == 1, replies  # the other one was told which job holds the model
    artifact, share = world.serving("ml-prod")
    assert artifact == B and share in (30, 40)
    # The holder's /lock survives its own commands, and others are still kept out.
    world.comment(6, "dev", "/rollback")
    assert "locked by @lead" in world.last_reply(6) and world.serving("ml-prod") == (B, share)


@pytest.mark.parametrize("world", ["postgres"], indirect=True)
def test_promote_and_rollback_on_two_replicas_take_the_model_one_at_a_time(world, monkeypatch):
    world.canary_in_production()
    most, replies = race(world, monkeypatch, [("lead", "/promote"), ("dev", "/rollback")])
    assert most == 1
    refused = [r for r in replies if "is locked by job:" in r]
    assert len(refused) == 1, replies
    assert world.serving("ml-prod") in ((B, 50), (A, 100))  # the promote's step, or the rollback's: one of them
