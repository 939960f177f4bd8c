"""A tag that cannot be moved after an App rollout step reaches the person in the App's reply.

The world's artifacts live on ghcr.io, which these tests cannot reach (and which would refuse
an anonymous write where it can): deploy.environment_tags is on by default, so the tag move
fails after the step succeeded. The rollout stands; the reply says what was not done and why.
"""

from __future__ import annotations

from app.handlers.conftest import A


def test_the_merge_reply_carries_the_tag_warning_and_the_rollout_stands(world):
    world.ship(5, A)  # merged → staging
    assert world.serving("ml-staging") == (A, 100)
    reply = world.last_reply(5)
    assert "the rollout succeeded, but the tag staging of " + A in reply
    assert "was not moved" in reply and "ghcr.io" in reply
    assert "[!WARNING]" in reply  # shown as a warning block, under the step's own message


def test_a_promote_reply_carries_it_too(world):
    world.ship(5, A, promote=True)
    reply = world.last_reply(5)
    assert "the tag production of " + A in reply and "was not moved" in reply
