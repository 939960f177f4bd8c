"""``issue_comment.created``: a comment that holds a command runs it; one that almost does gets a reply.

Bots are ignored (our own replies included), and so is chatter: a comment that
cannot be a command under any prefix costs no GitHub call (``may_hold_command``).
Parsing needs the model and environment names, which come from the policy's
configuration (mlpipex.app.policy_source), so it is read once here and the parser stays pure.
"""

from __future__ import annotations

from typing import Any

from mlpipex.app.chatops import Reply, may_hold_command, parse
from mlpipex.app.commanding import Request, execute
from mlpipex.app.forge import RepoForge
from mlpipex.app.policy_source import policy_for
from mlpipex.app.registry import JobContext, register

__all__ = ["on_comment"]


@register("issue_comment.created")
def on_comment(payload: dict[str, Any], ctx: JobContext) -> None:
    comment, issue = payload.get("comment") or {}, payload.get("issue") or {}
    user = comment.get("user") or {}
    body = comment.get("body") or ""
    bot = user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")
    if not may_hold_command(body, author_is_bot=bot):
        return  # chatter: not one GitHub call (the prefix is not known yet, so this holds for any prefix)
    repository = payload["repository"]["full_name"]
    forge = RepoForge.for_job(ctx, repository)
    is_pull = bool(issue.get("pull_request"))
    number = int(issue["number"])
    configs = policy_for(forge, forge.pull(number).base_ref if is_pull else None).configs
    prefix = configs[0].chatops.prefix if configs else "/"
    models = [c.model.name for c in configs]
    environments = sorted({e.name for c in configs for e in c.deploy.environments})
    parsed = parse(body, prefix=prefix, models=models, environments=environments)
    if parsed is None:
        return
    if isinstance(parsed, Reply):
        if not ctx.progress.get("replied"):
            forge.reply(number, parsed.text)
            ctx.save_progress({"replied": True})
        return
    request = Request(repository, number, str(user.get("login")), parsed, is_pull=is_pull, comment_id=int(comment["id"]))
    execute(request, ctx, forge=forge)
