"""Failure drills for the App (RELIABILITY.md): a process killed mid-canary, two replicas, one command."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlpipex.app.canary_jobs import on_canary_step
from mlpipex.app.registry import HandlerRegistry, default_registry
from mlpipex.kserve.analysis import FileSource
from mlpipex.kserve.rollout import state_of

from .conftest import B, pull_links

ROOT = Path(__file__).resolve().parents[3]

# A worker process that takes the canary step, applies it, and is SIGKILLed right after
# the apply, before it can record that the job is done.
KILLED_AFTER_APPLY = textwrap.dedent("""
    import functools, os, signal, sys, time
    from pathlib import Path
    from github import Auth, Github
    from mlpipex.app.canary_jobs import on_canary_step
    from mlpipex.app.registry import HandlerRegistry
    from mlpipex.app.settings import Settings
    from mlpipex.app.store import Store
    from mlpipex.app.worker import Worker
    from mlpipex.kserve import cluster
    from mlpipex.kserve.analysis import FileSource

    database, github_url, kubeconfig, samples = sys.argv[1:5]
    apply = cluster.Cluster.apply
    def apply_then_die(self, obj, *args, **kwargs):
        apply(self, obj, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    cluster.Cluster.apply = apply_then_die
    settings = Settings(webhook_secret="x", database_url=database, kubeconfig=kubeconfig, rollout_timeout=5, worker_threads=0)
    registry = HandlerRegistry()
    registry.add("canary.step", functools.partial(on_canary_step, source=FileSource(Path(samples))))
    client = Github(auth=Auth.Token("t"), base_url=github_url, retry=None, seconds_between_requests=0, seconds_between_writes=0)
    worker = Worker(Store.from_url(database), registry, github_for=lambda i: client, settings=settings, lease_seconds=1.0)
    deadline = time.time() + 30
    while time.time() < deadline and not worker.run_once():
        time.sleep(0.1)
""")


def equal_samples(path: Path) -> Path:
    import numpy as np

    rng = np.random.default_rng(3)
    path.write_text(json.dumps({role: {"latency_p95": rng.gamma(4.0, 5.0, 200).tolist()} for role in ("canary", "stable")}))
    return path


def with_source(source: FileSource) -> HandlerRegistry:
    registry = HandlerRegistry()
    for kind in default_registry.kinds():
        registry.add(kind, default_registry.get(kind))  # type: ignore[arg-type]
    registry._handlers["canary.step"] = functools.partial(on_canary_step, source=source)
    return registry


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize("world", [True], indirect=True)  # production has canary metrics: the analysis runs as jobs
def test_the_app_killed_mid_canary_resumes_without_repeating_a_step(world, tmp_path):
    samples = equal_samples(tmp_path / "samples.json")
    world.worker.registry = with_source(FileSource(samples))
    world.canary_in_production()
    [step] = [j for j in world.store.jobs.list() if j.kind == "canary.step"]
    assert step.status == "queued"

    database = world.app.settings.database_url.get_secret_value()
    child = subprocess.Popen([sys.executable, "-c", KILLED_AFTER_APPLY, database, world.github.url,
                              str(world.app.settings.kubeconfig), str(samples)], cwd=ROOT)  # fmt: skip
    try:
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    killed = world.store.jobs.get(step.id)
    assert killed.status == "running"  # leased to a process that no longer exists
    assert world.serving("ml-prod") == (B, 50)  # the step was applied before the kill
    history = state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history
    assert history[-1]["by"] == f"mlpipex canary via job {step.id}"

    world.worker.lease_seconds = 1.0
    wait_for(world.worker.run_once)  # the restarted App claims the job once the dead lease expires
    assert world.store.jobs.get(step.id).status == "done"
    after = state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history
    assert len(after) == len(history)  # the resumed job saw its own step and did not take it again
    assert world.serving("ml-prod") == (B, 50)

    wait_for(lambda: world.worker.run_once() and world.serving("ml-prod")[1] == 100)  # the next step, an interval later
    final = state_of(world.kube.objects[("ml-prod", "breast-cancer")])
    assert final.artifact == B and final.traffic == 100 and not final.in_canary
    steps = [h for h in final.history if str(h.get("by", "")).startswith("mlpipex canary via job")]
    assert [h["traffic"] for h in steps] == [50, 100]  # each step once


@pytest.mark.parametrize("world", ["postgres"], indirect=True)
def test_two_replicas_on_one_postgres_run_the_same_promote_once(world):
    from fastapi.testclient import TestClient

    from mlpipex.app import create_app
    from mlpipex.app.worker import Worker

    world.canary_in_production()

    # A second replica: its own process state, the same PostgreSQL, GitHub and cluster.
    second_app = create_app(world.app.settings, github_for=world.app.github_for)
    with TestClient(second_app) as second:
        second_worker = Worker(second_app.state.mlpipex.store, second_app.state.mlpipex.registry,
                               github_for=world.app.github_for, settings=world.app.settings)  # fmt: skip
        comment = world.github.post_comment(6, "lead", "/promote")
        payload = {"action": "created", "comment": comment, "sender": {"login": "lead"},
                   "issue": {"number": 6, "pull_request": pull_links(6)}}  # fmt: skip
        # GitHub delivers it to one replica, times out, redelivers (same delivery id) to the other;
        # someone who captured the signed body posts it again under new delivery ids, to both.
        world.deliver("issue_comment", payload, delivery="d-promote-once")
        world.deliver("issue_comment", payload, delivery="d-promote-once", client=second)
        world.deliver("issue_comment", payload, delivery="d-replayed-1", client=second)
        world.deliver("issue_comment", payload, delivery="d-replayed-2")
        ran: list[int] = []
        barrier = threading.Barrier(2)

        def drain(worker: Worker) -> None:
            barrier.wait()
            while worker.run_once():
                ran.append(1)

        threads = [threading.Thread(target=drain, args=(w,)) for w in (world.worker, second_worker)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert len(ran) == 1  # one job for the action, run by one replica, however often it was posted
    assert world.serving("ml-prod") == (B, 50)  # one step, not two
    promotes = [e for e in world.store.audit.query(repository="acme/models") if e.action == "promote" and e.environment == "production"]
    assert len(promotes) == 3  # A into production, B into production, and this one step
