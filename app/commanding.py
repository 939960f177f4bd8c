"""Running one ChatOps command for one person: authorise, lock, act, record, answer.

The parsed command's name picks its handler from two tables (WITHOUT_LOCK,
WITH_LOCK); what every handler shares with the merge and canary jobs (config
choice, lock key, audit and Deployment records, the reply) is app/recording.py.

The comment handler and the check run's buttons both end here, so "Promote" on a
check run goes through exactly the checks a `/promote` comment does. Order matters
and is the point of this module: the configuration comes from the default branch
(or a protected base, mlpipex.app.policy_source);
authorisation happens before anything else; a per-model lock serialises commands
across replicas; the audit log and GitHub's Deployments record what happened; the
person gets 🚀 or 👎 and a reply that says what now serves where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.app.chatops import Actor, Command, authorize, help_text
from mlpipex.app.forge import RepoForge
from mlpipex.app.policy_source import policy_for
from mlpipex.app.recording import choose_config, holder_run_key, lock_key, record, reply_text
from mlpipex.app.rollouts import rollouts_for, stamp
from mlpipex.errors import MlpipexError
from mlpipex.rollouts import Outcome, Rollouts, environment

if TYPE_CHECKING:
    from mlpipex.app.registry import JobContext
    from mlpipex.config import Config

__all__ = ["WITHOUT_LOCK", "WITH_LOCK", "Request", "execute"]

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
    forge = forge or RepoForge.for_job(ctx, request.repository)
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
        policy = policy_for(self.forge, pull.base_ref if pull else None)  # never the head's; see policy_source
        chosen = choose_config(policy.configs, command.model)
        if isinstance(chosen, str):
            self.say(chosen, ok=False)
            return None
        config = chosen
        model = config.model.name
        actor = Actor(request.actor, self.forge.permission(request.actor),
                      self.forge.teams_of(request.actor, config.chatops.teams.get(command.name, [])))  # fmt: skip
        facts = self.forge.facts(pull.number, model)[1] if pull else None
        verdict = authorize(command, actor, config.chatops, facts, untrusted_base=policy.reason)
        if not verdict.allowed:
            self.ctx.store.audit.record(actor=request.actor, action=command.name, outcome="refused",
                                        repository=request.repository, model=model, detail=verdict.reason)  # fmt: skip
            self.say(f"👎 `{command.line or command.name}` refused: {verdict.reason}", ok=False)
            return None
        without_lock = WITHOUT_LOCK.get(command.name)
        if without_lock is not None:  # reads, or the lock itself: no per-model lock
            without_lock(self, config, actor)
            return None
        key = lock_key(request.repository, model)
        holder, reason = f"job:{self.ctx.job_id}", f"{command.name} by @{request.actor}"
        lock = self.ctx.store.locks.acquire(key, holder, reason=reason, ttl_seconds=LOCK_TTL)
        if not lock.acquired and lock.holder == f"@{request.actor}":
            # The model is /lock-ed by this person: their own commands pass the /lock, but still
            # run one at a time, under a lock of their own beside it.
            key = holder_run_key(key)
            lock = self.ctx.store.locks.acquire(key, holder, reason=reason, ttl_seconds=LOCK_TTL)
        if not lock.acquired:
            since = lock.acquired_at.strftime("%Y-%m-%d %H:%M UTC")
            self.say(f"⏳ `{model}` is locked by {lock.holder} since {since}"
                     + (f" ({lock.reason})" if lock.reason else "") + ". Try again when it is released.", ok=False)  # fmt: skip
            return None
        try:
            return self.act(config, pull)
        finally:
            self.ctx.store.locks.release(key, holder)

    def act(self, config: Config, pull: Any) -> Outcome | None:
        handler = WITH_LOCK.get(self.command.name)
        if handler is None:  # the parser knows no such command: nothing to do
            self.say(f"👎 `{self.command.line or self.command.name}` is not a command here.", ok=False)
            return None
        return handler(self, config, pull)

    # -- the commands (the tables below map each parsed command to one of these) ------------

    def show_status(self, config: Config, actor: Actor) -> None:
        self.say(self.status(config))

    def lock_or_unlock(self, config: Config, actor: Actor) -> None:
        self.lock_command(config.model.name, actor)

    def retrain(self, config: Config, pull: Any) -> Outcome | None:
        from mlpipex.app import retraining

        request = self.request
        url = retraining.request_retraining(self.forge, config, trigger="chatops", actor=request.actor,
                                            reason=self.command.reason or f"requested by @{request.actor}")  # fmt: skip
        self.say(f"🔁 Retraining pull request for `{config.model.name}`: {url}", ok=True)
        return None

    def promote(self, config: Config, pull: Any) -> Outcome | None:
        command = self.command
        if command.target_env:  # /promote ENVIRONMENT: into it, under its rules
            target = command.target_env

            def into(by: str) -> Outcome:
                approvals = self.forge.approvals(pull.number, pull.head_sha) if pull else 0
                return self.rollouts.promote_into(config, environment(config, target), approvals=approvals, by=by,
                                                  percent=command.percent)  # fmt: skip

            return self.step(config, pull, into)
        return self.step(config, pull, lambda by: self.rollouts.promote(config, self.env_of(config), command.percent, by=by))

    def canary(self, config: Config, pull: Any) -> Outcome | None:
        percent = self.command.percent
        assert percent is not None  # the parser requires it
        return self.step(config, pull, lambda by: self.rollouts.canary(config, self.env_of(config), percent, by=by))

    def rollback(self, config: Config, pull: Any) -> Outcome | None:
        return self.step(config, pull, lambda by: self.rollouts.rollback(config, self.env_of(config), by=by))

    def step(self, config: Config, pull: Any, take: Callable[[str], Outcome]) -> Outcome | None:
        """Take one rollout step as this job, record it, schedule the canary's analysis, answer."""
        command, request = self.command, self.request
        try:
            outcome = take(stamp(request.actor, self.ctx.job_id))
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

    def env_of(self, config: Config) -> Any:
        return environment(config, self.command.env) if self.command.env else self.default_environment(config)

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


#: Commands that run without the model's lock (reads, and the lock itself), by parsed name.
WITHOUT_LOCK: dict[str, Callable[[_Runner, Config, Actor], None]] = {
    "status": _Runner.show_status,
    "lock": _Runner.lock_or_unlock,
    "unlock": _Runner.lock_or_unlock,
}
#: Commands that change the model, each under its lock, by parsed name.
WITH_LOCK: dict[str, Callable[[_Runner, Config, Any], Outcome | None]] = {
    "promote": _Runner.promote,
    "canary": _Runner.canary,
    "rollback": _Runner.rollback,
    "retrain": _Runner.retrain,
}
