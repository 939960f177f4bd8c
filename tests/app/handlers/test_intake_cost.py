"""Issue 12, item 11: the comment is parsed before the App asks GitHub anything.

Chatter (most comments on a pull request) must cost no GitHub call: counted on the
recording fake GitHub. A command still reads what it needs.
"""

from __future__ import annotations

CHATTER = ["LGTM", "Thanks! Merging after CI.", "see /usr/share/doc for the flags", "> /rollback\nquoted, not a command",
           "<!-- /rollback -->", "```\n/promote\n```", "nit: `/status` in the README is stale", "+1"]  # fmt: skip


def test_chatter_costs_no_github_call_and_a_command_still_runs(world):
    world.github.open_pull(5, head="m", author="dev")
    before = len(world.github.calls)
    for body in CHATTER:
        world.comment(5, "dev", body)
    assert world.github.calls[before:] == []  # not a PR read, not a config, not a reaction
    assert world.store.jobs.counts()["done"] >= len(CHATTER)  # each was received and handled
    world.comment(5, "reader", "/status")
    assert "| staging |" in world.last_reply(5)
    assert len(world.github.calls) > before
