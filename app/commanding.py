"""Running one ChatOps command for one person: authorise, lock, act, record, answer.

The comment handler and the check run's buttons both end here, so "Promote" on a
check run goes through exactly the checks a `/promote` comment does. Order matters
and is the point of this module: the configuration comes from the base branch;
authorisation happens before anything else; a per-model lock serialises commands
across replicas; the audit log and GitHub's Deployments record what happened; the
person gets 🚀 or 👎 and a reply that says what now serves where.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.app.chatops import Actor, Command, authorize, help_text
from mlpipex.app.forge import RepoForge
from mlpipex.app.recording import choose_config, lock_key, record, reply_text
from mlpipex.app.rollouts import rollouts_for, stamp
from mlpipex.errors import MlpipexError
from mlpipex.rollouts import Outcome, Rollouts, environment

if TYPE_CHECKING:
    from mlpipex.app.registry import JobContext
    from mlpipex.config import Config

__all__ = ["Request", "execute"]

LOCK_TTL = 900.0  # a command's own lock; a crashed job's lock frees itself after this


@dataclass(frozen=True)
class Request:
    repository: str
    number: int | None  # the issue or pull request to answer in
    actor: str
    command: Command
    is_pull: bool = False
    comment_id: int | None = None  # gets the 👀 / 🚀 / 👎 reactions


def execute(request: Request, ctx: JobContext, *, rollouts: Rollouts | None = None,
            forge: RepoForge | None = None) -> Outcome | None:  # fmt: skip
    forge = forge or RepoForge(ctx.github(), request.repository)
    rollouts = rollouts or rollouts_for(ctx.settings)
    progress = ctx.progress
    if request.comment_id and request.number and not progress.get("acked"):
        forge.react(request.number, request.comment_id, "eyes")
        ctx.save_progress({**progress, "acked": True})
    runner = _Runner(request, ctx, forge, rollouts)
    return runner.run()


class _Runner:
    def __init__(self, request: Request, ctx: JobContext, forge: RepoForge, rollouts: Rollouts) -> None:
        self.request, self.ctx, self.forge, self.rollouts = request, ctx, forge, rollouts
        self.command = request.command

    def say(self, text: str, *, ok: bool | None = None) -> None:
        if ok is not None and self.request.comment_id and self.request.number:
            self.forge.react(self.request.number, self.request.comment_id, "rocket" if ok else "-1")
        if self.request.number:
            self.forge.reply(self.request.number, text)

    def run(self) -> Outcome | None:
        request, command = self.request, self.command
        pull = self.forge.pull(request.number) if request.is_pull and request.number else None
        base = pull.base_ref if pull else self.forge.default_branch()
        chosen = choose_config(self.forge.configs(base), command.model)  # the base branch's, never the head's
        if isinstance(chosen, str):
            self.say(chosen, ok=False)
            return None
        config = chosen
        model = config.model.name
        policy = config.chatops
        actor = Actor(request.actor, self.forge.permission(request.actor),
                      self.forge.teams_of(request.actor, policy.teams.get(command.name, [])))  # fmt: skip
        facts = self.forge.facts(pull.number, model)[1] if pull else None
        verdict = authorize(command, actor, policy, facts)
        if not verdict.allowed:
            self.ctx.store.audit.record(actor=request.actor, action=command.name, outcome="refused",
                                        repository=request.repository, model=model, detail=verdict.reason)  # fmt: skip
            self.say(f"👎 `{command.line or command.name}` refused: {verdict.reason}", ok=False)
            return None
        if command.name == "status":
            self.say(self.status(config))
            return None
        if command.name in ("lock", "unlock"):
            self.lock_command(model, actor)
            return None
        key = lock_key(request.repository, model)
        holder = f"job:{self.ctx.job_id}"
        lock = self.ctx.store.locks.acquire(key, holder, reason=f"{command.name} by @{request.actor}", ttl_seconds=LOCK_TTL)
        if not lock.acquired and lock.holder != f"@{request.actor}":
            since = lock.acquired_at.strftime("%Y-%m-%d %H:%M UTC")
            self.say(f"⏳ `{model}` is locked by {lock.holder} since {since}"
                     + (f" ({lock.reason})" if lock.reason else "") + ". Try again when it is released.", ok=False)  # fmt: skip
            return None
        try:
            return self.act(config, pull)
        finally:
            self.ctx.store.locks.release(key, holder)

    def act(self, config: Config, pull: Any) -> Outcome | None:
        from mlpipex.app import retraining

        command, request = self.command, self.request
        if command.name == "retrain":
            url = retraining.request_retraining(self.forge, config, trigger="chatops", actor=request.actor,
                                                reason=command.reason or f"requested by @{request.actor}")  # fmt: skip
            self.say(f"🔁 Retraining pull request for `{config.model.name}`: {url}", ok=True)
            return None
        by = stamp(request.actor, self.ctx.job_id)
        try:
            if command.name == "promote" and command.target_env:
                target = environment(config, command.target_env)
                approvals = self.forge.approvals(pull.number, pull.head_sha) if pull else 0
                outcome = self.rollouts.promote_into(config, target, approvals=approvals, by=by, percent=command.percent)
            else:
                env = environment(config, command.env) if command.env else self.default_environment(config)
                if command.name == "promote":
                    outcome = self.rollouts.promote(config, env, command.percent, by=by)
                elif command.name == "canary":
                    assert command.percent is not None
                    outcome = self.rollouts.canary(config, env, command.percent, by=by)
                else:
                    outcome = self.rollouts.rollback(config, env, by=by)
        except MlpipexError as exc:  # e.g. an unknown environment: nothing was attempted
            self.say(f"👎 `{command.line or command.name}`: {str(exc).splitlines()[0]}", ok=False)
            return None
        record(self.ctx, self.forge, request.repository, config, outcome, actor=request.actor,
               sha=pull.head_sha if pull else None)  # fmt: skip
        if outcome.ok and outcome.in_canary:
            from mlpipex.app.canary_jobs import schedule_next_step

            schedule_next_step(self.ctx, request.repository, config, outcome.event.environment, outcome)
        self.say(reply_text(outcome, request.actor, self.ctx.job_id), ok=outcome.ok)
        return outcome

    def default_environment(self, config: Config) -> Any:
        """Without --env a command acts where the model last moved: the environment with a
        canary running, else the one changed most recently, else the first."""
        environments = config.deploy.environments
        if len(environments) < 2:
            return environment(config, None)
        latest: tuple[str, Any] | None = None
        for env in environments:
            state = self.rollouts.status(config, env).state
            if state.in_canary:
                return env
            at = str(state.history[-1].get("at", "")) if state.history else ""
            if at and (latest is None or at >= latest[0]):
                latest = (at, env)
        return latest[1] if latest else environments[0]

    def lock_command(self, model: str, actor: Actor) -> None:
        key, me = lock_key(self.request.repository, model), f"@{actor.login}"
        if self.command.name == "lock":
            result = self.ctx.store.locks.acquire(key, me, reason=self.command.reason)
            if result.acquired:
                self.say(f"🔒 `{model}` is locked by {me}; other commands wait until `/unlock {model}`.", ok=True)
            else:
                self.say(f"⏳ `{model}` is already locked by {result.holder}.", ok=False)
            self.ctx.store.audit.record(actor=actor.login, action="lock", repository=self.request.repository, model=model,
                                        outcome="succeeded" if result.acquired else "refused")  # fmt: skip
            return
        current = self.ctx.store.locks.holder(key)
        admin = actor.permission in ("maintain", "admin")
        if current is None:
            self.say(f"`{model}` is not locked.", ok=True)
        elif current.holder == me or admin:
            self.ctx.store.locks.release(key, None)
            self.ctx.store.audit.record(actor=actor.login, action="unlock", outcome="succeeded",
                                        repository=self.request.repository, model=model, detail=f"was {current.holder}")  # fmt: skip
            self.say(f"🔓 `{model}` is unlocked (it was locked by {current.holder}).", ok=True)
        else:
            self.say(f"👎 `{model}` is locked by {current.holder}; only they or a maintainer can unlock it.", ok=False)

    def status(self, config: Config) -> str:
        model = config.model.name
        lines = [f"### `{model}`", "", "| environment | serving | share | stable |", "|---|---|---|---|"]
        for env in config.deploy.environments:
            try:
                state = self.rollouts.status(config, env).state
                lines.append(f"| {env.name} | `{state.artifact or '—'}` | {state.traffic}% | `{state.stable or '—'}` |")
            except MlpipexError as exc:
                lines.append(f"| {env.name} | unknown: {str(exc).splitlines()[0][:120]} | | |")
        lock = self.ctx.store.locks.holder(lock_key(self.request.repository, model))
        if lock is not None:
            lines += ["", f"🔒 locked by {lock.holder}" + (f" ({lock.reason})" if lock.reason else "")]
        entries = self.ctx.store.audit.query(repository=self.request.repository, model=model, limit=5)
        if entries:
            lines += ["", "| when | who | what | outcome | to |", "|---|---|---|---|---|"]
            lines += [f"| {e.at:%Y-%m-%d %H:%M} | {e.actor} | {e.action} {e.environment or ''} | {e.outcome} | "
                      f"`{(e.to_digest or '—')[-19:]}` |" for e in entries]  # fmt: skip
        lines += ["", help_text(config.chatops.prefix, "status")]
        return "\n".join(lines)
