"""The App's handlers doing their jobs: merge-to-deploy, ChatOps with authorisation, locks, buttons, status."""

from __future__ import annotations

from .conftest import OUR_APP_ID, A, B, pull_links


def test_merge_deploys_what_passed_the_gates_then_promote_canary_rollback(world):
    gh = world.github
    head = gh.open_pull(5, head="model-a", author="dev")
    world.gate(head, artifact=A)
    world.merge(5)
    assert world.serving("ml-staging") == (A, 100)
    assert "🚀" in world.last_reply(5) and "staging" in world.last_reply(5)
    [deployment] = gh.deployments
    assert deployment["environment"] == "staging" and deployment["statuses"][0]["state"] == "success"

    # /promote production: promotion into the next environment under its rules, by a maintainer.
    comment = world.comment(5, "lead", "/promote production")
    assert world.serving("ml-prod") == (A, 100)  # production's first model takes everything
    assert gh.reactions[comment["id"]] == ["eyes", "rocket"]

    # A second model: merged to staging, then a production canary stepped by comments.
    head = gh.open_pull(6, head="model-b", author="dev")
    world.gate(head, artifact=B)
    world.merge(6)
    assert world.serving("ml-staging") == (B, 100)
    world.comment(6, "lead", "/promote production")
    assert world.serving("ml-prod") == (B, 10)
    assert "pie showData" in world.last_reply(6) and '"new bc@sha256:bbbbbbbbbbbb" : 10' in world.last_reply(6)
    world.comment(6, "lead", "/canary 30")
    assert world.serving("ml-prod") == (B, 30), world.github.replies(6)[-1:] + [j.last_error for j in world.store.jobs.list()]
    world.comment(6, "lead", "/promote production")  # already on its way: the next step, not a restart
    assert world.serving("ml-prod") == (B, 50)

    # The writer may not promote (promote needs maintain here) but may roll back.
    refused = world.comment(6, "dev", "/promote --env production")
    assert world.serving("ml-prod") == (B, 50)
    assert gh.reactions[refused["id"]] == ["eyes", "-1"] and "needs `maintain`" in world.last_reply(6)
    world.comment(6, "reader", "/rollback --env production")
    assert world.serving("ml-prod") == (B, 50) and "needs `write`" in world.last_reply(6)
    world.comment(6, "dev", "/rollback --env production")
    assert world.serving("ml-prod") == (A, 100)

    audit = world.store.audit.query(repository="acme/models")
    outcomes = [(e.actor, e.action, e.outcome) for e in reversed(audit)]
    assert ("dev", "promote", "refused") in outcomes and ("reader", "rollback", "refused") in outcomes
    assert ("dev", "rollback", "succeeded") in outcomes
    rollback = next(e for e in audit if e.action == "rollback" and e.outcome == "succeeded")
    assert rollback.from_digest == B and rollback.to_digest == A and rollback.environment == "production"

    world.comment(6, "reader", "/status")
    status = world.last_reply(6)
    assert "| production | `" + A in status and "| staging | `" + B in status and "rollback" in status


def test_a_merge_whose_gates_failed_deploys_nothing_and_says_why(world):
    head = world.github.open_pull(5, head="bad", author="dev")
    world.gate(head, conclusion="failure")
    world.merge(5)
    assert world.serving("ml-staging") == (None, 0)
    assert "was not deployed to staging: its gates did not pass" in world.last_reply(5)
    head = world.github.open_pull(7, head="unpushed", author="dev")
    world.gate(head, artifact=None)
    world.merge(7)
    assert "no package was pushed" in world.last_reply(7) and world.serving("ml-staging") == (None, 0)


def test_a_fork_never_deploys(world):
    head = world.github.open_pull(8, head="from-fork", author="outsider", fork=True)
    world.gate(head, artifact=A)
    world.merge(8)
    assert world.serving("ml-staging") == (None, 0) and "fork" in world.last_reply(8)
    world.comment(8, "admin", "/promote production")
    assert "fork" in world.last_reply(8) and world.serving("ml-prod") == (None, 0)


def test_locks_say_who_holds_them(world):
    world.ship(5, A)
    world.comment(5, "lead", "/lock --reason 'release freeze'")
    assert "locked by @lead" in world.last_reply(5)
    world.comment(5, "dev", "/rollback --env staging")
    assert "locked by @lead since" in world.last_reply(5) and "release freeze" in world.last_reply(5)
    world.comment(5, "dev", "/unlock")
    assert "only they or a maintainer" in world.last_reply(5)
    world.comment(5, "lead", "/promote production")  # the holder's own commands go through
    assert world.serving("ml-prod") == (A, 100)
    world.comment(5, "lead", "/unlock")
    assert "unlocked" in world.last_reply(5)


def test_replies_for_near_misses_and_silence_for_chatter(world):
    world.github.open_pull(5, head="m", author="dev")
    world.comment(5, "dev", "/promot")
    assert "Did you mean `/promote`?" in world.last_reply(5)
    before = len(world.github.replies(5))
    world.comment(5, "dev", "LGTM, see /usr/share/doc")
    world.comment(5, "mlpipex[bot]", "/rollback")
    assert len(world.github.replies(5)) == before


def test_the_check_run_buttons_take_the_same_path(world):
    world.ship(5, A)
    head = world.ship(6, B)
    assert world.serving("ml-staging") == (B, 100)
    run = {"name": "mlpipex / breast-cancer", "app": {"id": OUR_APP_ID}, "pull_requests": [{"number": 6}], "head_sha": head}
    world.deliver("check_run", {"action": "requested_action", "check_run": run, "sender": {"login": "reader"},
                                "requested_action": {"identifier": "mlpipex-rollback"}})  # fmt: skip
    world.work()
    assert world.serving("ml-staging") == (B, 100) and "needs `write`" in world.last_reply(6)
    world.deliver("check_run", {"action": "requested_action", "check_run": run, "sender": {"login": "dev"},
                                "requested_action": {"identifier": "mlpipex-rollback"}})  # fmt: skip
    world.work()
    assert world.serving("ml-staging") == (A, 100)


def test_a_rerun_job_never_repeats_its_step(world, quickstart):
    from mlpipex.app.rollouts import rollouts_for
    from mlpipex.config import load_config
    from mlpipex.rollouts import environment

    world.ship(5, A)
    world.ship(6, B, promote=True)
    assert world.serving("ml-prod") == (B, 100)  # production's first model
    world.github.open_pull(7, head="o", author="dev")
    config_path = quickstart / "repo.yaml"
    config_path.write_text(world.github.files[world.github.branches["main"]]["mlpipex.yaml"])
    config = load_config(config_path, check_files=False)
    rollouts = rollouts_for(world.app.settings)
    env = environment(config, "staging")
    first = rollouts.rollback(config, env, by="lead via job 999")
    again = rollouts.rollback(config, env, by="lead via job 999")  # the same job, re-run after a crash
    assert first.ok and not first.repeated and again.repeated
    assert world.serving("ml-staging") == (A, 100)
    assert [h["action"] for h in __import__("mlpipex.kserve.rollout", fromlist=["x"]).state_of(
        world.kube.objects[("ml-staging", "breast-cancer")]).history].count("rollback") == 1


def test_concurrent_commands_on_one_model_are_serialised(world):
    import threading

    from mlpipex.app.recording import lock_key
    from mlpipex.app.worker import Worker
    from mlpipex.kserve.rollout import state_of

    world.canary_in_production()

    # A command in flight holds the model: another one is told who holds it, and nothing moves.
    held = world.store.locks.acquire(lock_key("acme/models", "breast-cancer"), "job:999", reason="promote by @lead")
    assert held.acquired
    world.comment(6, "dev", "/rollback")
    assert "locked by job:999" in world.last_reply(6) and "promote by @lead" in world.last_reply(6)
    assert world.serving("ml-prod") == (B, 10)
    world.store.locks.release(lock_key("acme/models", "breast-cancer"), "job:999")

    # /promote and /rollback at the same moment, on two workers: one runs, the other runs after it or is refused.
    for author, body in (("lead", "/promote"), ("dev", "/rollback")):
        comment = world.github.post_comment(6, author, body)
        world.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": author},
                                        "issue": {"number": 6, "pull_request": pull_links(6)}})  # fmt: skip
    before = len(state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history)
    workers = [world.worker, Worker(world.store, world.app.registry, github_for=world.app.github_for, settings=world.app.settings)]
    barrier = threading.Barrier(2)

    def one(worker):
        barrier.wait()
        worker.run_once()

    threads = [threading.Thread(target=one, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    replies = world.github.replies(6)[-2:]
    moved = len(state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history) - before
    refused = [r for r in replies if "is locked by job:" in r]
    assert moved + len(refused) == 2 and moved >= 1  # every command ran alone or was told who held the model
    entries = state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history[before:]
    assert len({e["by"] for e in entries}) == len(entries)  # each step by its own job, none interleaved


def test_a_pull_request_cannot_loosen_its_own_rules(world):
    world.ship(5, A)
    head_config = world.github.files[world.github.branches["main"]]["mlpipex.yaml"].replace("promote: maintain", "promote: read")
    world.github.open_pull(9, head="loosen", author="dev", files={"mlpipex.yaml": head_config})
    world.comment(9, "reader", "/promote production")  # the head says read may promote; the base says maintain
    assert "needs `maintain`" in world.last_reply(9) and world.serving("ml-prod") == (None, 0)


def test_on_kserve_v0_20_0_a_standard_canary_is_refused_in_the_reply(world):
    """The App runs the same check as the CLI: a /promote that would start a Standard-mode canary on a
    KServe that routes it nothing is answered with why and the fix, and production keeps its model."""
    from tests.kserve.cluster_fake.fake_apiserver import V0_20_0

    world.kube.play(V0_20_0)
    world.ship(5, A, promote=True)
    assert world.serving("ml-prod") == (A, 100)  # a first rollout needs no split
    world.ship(6, B, promote=True)
    reply = world.last_reply(6)
    assert "a 10% Standard-mode canary would get no traffic" in reply and "KServe v0.20.0" in reply, reply
    assert "use mode: Knative for this environment" in reply, reply
    assert world.serving("ml-prod") == (A, 100)
