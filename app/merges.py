"""``pull_request.closed`` and merged: deploy what passed the gates on the pull request's head.

The digest comes from the gate's check run on the head commit (``mlpipex push``
records it there, with the App's own token), the configuration from the base branch when
the default branch trusts it (mlpipex.app.policy_source; otherwise nothing deploys), the environment is the
first one, when it deploys automatically (``auto_deploy: true``). A merge whose
gates did not pass, or whose package was never pushed, deploys nothing and says
why in the pull request. A fork's pull request never deploys.
"""

from __future__ import annotations

from typing import Any

from mlpipex.app.forge import RepoForge, gate_check_name
from mlpipex.app.policy_source import policy_for
from mlpipex.app.recording import lock_key, record, reply_text
from mlpipex.app.registry import JobContext, register
from mlpipex.app.rollouts import rollouts_for, stamp
from mlpipex.rollouts import Rollouts

__all__ = ["on_merged"]


@register("pull_request.closed")
def on_merged(payload: dict[str, Any], ctx: JobContext, *, rollouts: Rollouts | None = None) -> None:
    pr = payload.get("pull_request") or {}
    if not pr.get("merged"):
        return
    repository, number = payload["repository"]["full_name"], int(pr["number"])
    forge = RepoForge.for_job(ctx, repository)
    done: dict[str, Any] = dict(ctx.progress)
    if ((pr.get("head") or {}).get("repo") or {}).get("full_name") != repository:
        if not done.get("fork"):
            ctx.store.audit.record(actor=_sender(payload), action="deploy", outcome="refused", repository=repository,
                                   detail=f"merge of #{number} from a fork")  # fmt: skip
            forge.reply(number, "Merged from a fork: mlpipex never deploys a fork's pull request. "
                                "A maintainer can run the gates and deploy from a branch of this repository.")  # fmt: skip
            ctx.save_progress({**done, "fork": True})
        return
    policy = policy_for(forge, pr["base"]["ref"])
    if not policy.trusted:
        if not done.get("untrusted"):
            ctx.store.audit.record(actor=_sender(payload), action="deploy", outcome="refused", repository=repository,
                                   detail=f"merge of #{number}: {policy.reason}")  # fmt: skip
            forge.reply(number, f"⏭️ Nothing was deployed: {policy.reason}.")
            ctx.save_progress({**done, "untrusted": True})
        return
    rollouts = rollouts or rollouts_for(ctx.settings)
    head = pr["head"]["sha"]
    found = False
    for config in policy.configs:
        model = config.model.name
        environments = config.deploy.environments
        if not environments or not environments[0].auto_deploy or done.get(model):
            continue
        env = environments[0]
        gate = forge.gate_run(head, model)
        if gate is None:
            continue  # the gates did not run for this model: the pull request did not touch it
        found = True
        if gate.conclusion != "success" or not gate.artifact:
            why = (f"its gates did not pass (`{gate_check_name(model)}`: {gate.conclusion or 'still running'})"
                   if gate.conclusion != "success" else "no package was pushed for it (run `mlpipex push` after the gates)")
            forge.reply(number, f"⏭️ `{model}` was not deployed to {env.name}: {why}.")
            ctx.store.audit.record(actor=_sender(payload), action="deploy", outcome="skipped", repository=repository,
                                   model=model, environment=env.name, detail=why)  # fmt: skip
            ctx.save_progress({**done, model: "skipped"})
            done[model] = "skipped"
            continue
        holder = f"job:{ctx.job_id}"
        lock = ctx.store.locks.acquire(lock_key(repository, model), holder, reason=f"deploy of #{number}", ttl_seconds=900)
        if not lock.acquired:
            raise RuntimeError(f"{model} is locked by {lock.holder}; the deploy of #{number} will be retried")
        try:
            outcome = rollouts.deploy(config, env, gate.artifact, by=stamp(f"merge of #{number}", ctx.job_id),
                                      sha=pr.get("merge_commit_sha") or head, pull_request=number)  # fmt: skip
            record(ctx, forge, repository, config, outcome, actor=_sender(payload), sha=pr.get("merge_commit_sha") or head)
            if outcome.ok and outcome.in_canary:
                from mlpipex.app.canary_jobs import schedule_next_step

                schedule_next_step(ctx, repository, config, env.name, outcome)
        finally:
            ctx.store.locks.release(lock_key(repository, model), holder)
        forge.reply(number, reply_text(outcome, _sender(payload), ctx.job_id))
        done[model] = "deployed" if outcome.ok else "failed"
        ctx.save_progress(dict(done))
    if not found:  # a merge that touched no model (docs, CI): nothing to say in the pull request
        ctx.log.info("merge of %s#%s: no gate results on %s, nothing to deploy", repository, number, head[:12])


def _sender(payload: dict[str, Any]) -> str:
    return str((payload.get("sender") or {}).get("login") or "github")
