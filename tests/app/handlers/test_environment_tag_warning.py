"""A tag that cannot be moved after an App rollout step reaches the person in the App's reply.

The world's repository config turns environment_tags off (its digests are made up); here it
is the default again, and the artifact names a registry on a loopback port nothing listens
on: the tag move fails after the step succeeded. The rollout stands; the reply says what was
not done, why, and the fix.
"""

from __future__ import annotations

import socket

import yaml


def closed_registry_artifact() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"127.0.0.1:{port}/acme/models/bc@sha256:" + "c" * 64


def tags_on(world) -> None:  # type: ignore[no-untyped-def]
    """The default deploy.environment_tags (on), committed to main: the App acts with the base branch's config."""
    github = world.github
    data = yaml.safe_load(github.files[github.branches["main"]]["mlpipex.yaml"])
    del data["deploy"]["environment_tags"]
    github.commit("main", {"mlpipex.yaml": yaml.safe_dump(data, sort_keys=False)})


def test_the_merge_reply_carries_the_tag_warning_and_the_rollout_stands(world):
    tags_on(world)
    artifact = closed_registry_artifact()
    world.ship(5, artifact)  # merged → staging
    assert world.serving("ml-staging") == (artifact, 100)
    reply = world.last_reply(5)
    assert f"the rollout succeeded, but the tag staging of {artifact} was not moved" in reply
    registry = artifact.split("/", 1)[0]
    assert f"cannot reach registry {registry}" in reply and "fix:" in reply
    assert "> [!WARNING]" in reply  # a warning block under the step's own message


def test_a_promote_reply_carries_it_too(world):
    tags_on(world)
    artifact = closed_registry_artifact()
    world.ship(5, artifact, promote=True)
    assert world.serving("ml-prod") == (artifact, 100)
    assert f"the tag production of {artifact} was not moved" in world.last_reply(5)


def test_with_tags_off_the_reply_has_no_warning(world):
    artifact = closed_registry_artifact()
    world.ship(5, artifact)
    assert "[!WARNING]" not in world.last_reply(5)
