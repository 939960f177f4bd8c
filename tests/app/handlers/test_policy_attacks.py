"""Issue 12, items 1 and 2, as an attacker with write access and a reader would try them.

The policy that decides who may move production comes from the default branch (or a
branch it lists in ``chatops.protected_branches``), never from a pull request's base;
no pull request means no promote; only the mlpipex App's own check run is a gate.
"""

from __future__ import annotations

import yaml

from .conftest import OUR_APP_ID, REPO, A, B


def loosened(world, **chatops) -> str:
    """The default branch's mlpipex.yaml with ``chatops`` changed (and production deployed on merge)."""
    data = yaml.safe_load(world.github.files[world.github.branches["main"]]["mlpipex.yaml"])
    data["chatops"] = {**data["chatops"], **chatops}
    return yaml.safe_dump(data, sort_keys=False)


def evil_branch(world, text: str, name: str = "evil") -> None:
    world.github.commit(name, {"mlpipex.yaml": text}, parent=world.github.branches["main"])


def test_a_pull_request_against_a_writers_branch_cannot_promote(world):
    world.canary_in_production()  # A in production, B its canary at 10%
    evil_branch(world, loosened(world, permissions={"promote": "read", "rollback": "read"}))
    world.github.open_pull(9, head="attack", base="evil", author="dev")
    world.comment(9, "dev", "/promote --env production")  # evil says read may promote; main says maintain
    assert world.serving("ml-prod") == (B, 10)
    assert "based on `evil`" in world.last_reply(9) and "chatops.protected_branches" in world.last_reply(9)
    world.comment(9, "lead", "/promote --env production")  # even a maintainer: nothing deploys from an untrusted base
    assert world.serving("ml-prod") == (B, 10)
    refused = [e for e in world.store.audit.query(repository=REPO) if e.outcome == "refused"]
    assert {e.actor for e in refused} >= {"dev", "lead"}


def test_a_reader_cannot_roll_production_back_from_such_a_pull_request(world):
    world.canary_in_production()
    evil_branch(world, loosened(world, permissions={"rollback": "read"}))
    world.github.open_pull(9, head="attack", base="evil", author="dev")
    world.comment(9, "reader", "/rollback --env production")
    assert world.serving("ml-prod") == (B, 10) and "based on `evil`" in world.last_reply(9)
    world.comment(9, "reader", "/status")  # read-only commands still answer
    assert "| production | `" + B in world.last_reply(9)


def test_merging_into_a_writers_branch_deploys_nothing(world):
    data = yaml.safe_load(world.github.files[world.github.branches["main"]]["mlpipex.yaml"])
    production = data["deploy"]["environments"][1]
    production.pop("rules", None)
    data["deploy"]["environments"] = [{**production, "auto_deploy": True, "canary": None}]  # production first, at 100%
    evil_branch(world, yaml.safe_dump(data, sort_keys=False))
    head = world.github.open_pull(9, head="attack", base="evil", author="dev")
    world.gate(head, artifact=B)
    world.merge(9)
    assert world.serving("ml-prod") == (None, 0) and world.serving("ml-staging") == (None, 0)
    assert "Nothing was deployed" in world.last_reply(9) and "based on `evil`" in world.last_reply(9)
    assert not world.github.deployments


def test_a_protected_branch_listed_on_the_default_branch_decides_for_itself(world):
    main = loosened(world, protected_branches=["release/2.x"])
    world.github.commit("main", {"mlpipex.yaml": main}, parent=world.github.branches["main"])
    release = yaml.safe_load(main)
    release["chatops"]["permissions"] = {"promote": "write"}
    world.github.commit("release/2.x", {"mlpipex.yaml": yaml.safe_dump(release, sort_keys=False)},
                        parent=world.github.branches["main"])  # fmt: skip
    head = world.github.open_pull(9, head="fix", base="release/2.x", author="dev")
    world.gate(head, artifact=A)
    world.merge(9)
    assert world.serving("ml-staging") == (A, 100)  # the release branch's own policy deploys its merge
    world.comment(9, "dev", "/promote production")  # release/2.x lets a writer promote
    assert world.serving("ml-prod") == (A, 100), world.last_reply(9)


def test_promote_on_an_issue_or_a_button_without_a_pull_request_is_refused(world):
    world.canary_in_production()
    comment = world.github.post_comment(40, "lead", "/promote --env production")
    world.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": "lead"},
                                    "issue": {"number": 40}})  # an issue: no approvals, no gates to check
    world.work()
    assert world.serving("ml-prod") == (B, 10) and "no pull request" in world.last_reply(40)
    # GitHub lists no pull request on a fork's check run: the Promote button must not skip the checks.
    run = {"name": "mlpipex / breast-cancer", "app": {"id": OUR_APP_ID}, "pull_requests": [], "head_sha": world.github.pulls[6]["head_sha"]}
    world.deliver("check_run", {"action": "requested_action", "check_run": run, "sender": {"login": "lead"},
                                "requested_action": {"identifier": "mlpipex-promote"}})  # fmt: skip
    world.work()
    assert world.serving("ml-prod") == (B, 10)
    audit = [(e.actor, e.action, e.outcome) for e in world.store.audit.query(repository=REPO, limit=3)]
    assert audit[:2] == [("lead", "promote", "refused")] * 2


def test_a_check_run_named_like_the_gate_by_another_app_is_not_a_gate(world):
    impostor = {"id": 4242, "slug": "impostor", "name": "impostor"}
    head = world.github.open_pull(9, head="attack", author="dev")
    world.github.check_run_app = impostor  # e.g. a workflow's GITHUB_TOKEN, or another App
    world.gate(head, artifact=B)
    world.merge(9)
    assert world.serving("ml-staging") == (None, 0)  # no gate result of ours: nothing to deploy

    # With green gates required, an impostor's green run does not make /promote pass either.
    strict = loosened(world, require_green_gates=True)
    world.github.commit("main", {"mlpipex.yaml": strict}, parent=world.github.branches["main"])
    world.github.check_run_app = None
    world.ship(5, A)
    world.github.check_run_app = impostor
    head = world.github.open_pull(6, head="b", author="dev")
    world.gate(head, artifact=B)
    world.comment(6, "lead", "/promote production")
    assert "gates not reported" in world.last_reply(6) and world.serving("ml-prod") == (None, 0)


def test_the_buttons_of_a_check_run_by_another_app_do_nothing(world):
    world.ship(5, A)
    head = world.ship(6, B)
    run = {"name": "mlpipex / breast-cancer", "app": {"id": 4242}, "pull_requests": [{"number": 6}], "head_sha": head}
    world.deliver("check_run", {"action": "requested_action", "check_run": run, "sender": {"login": "dev"},
                                "requested_action": {"identifier": "mlpipex-rollback"}})  # fmt: skip
    world.work()
    assert world.serving("ml-staging") == (B, 100)
    run["app"] = {"id": OUR_APP_ID}  # the same press on our own run does roll back
    world.deliver("check_run", {"action": "requested_action", "check_run": run, "sender": {"login": "dev"},
                                "requested_action": {"identifier": "mlpipex-rollback"}})  # fmt: skip
    world.work()
    assert world.serving("ml-staging") == (A, 100)
