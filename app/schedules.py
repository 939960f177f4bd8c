"""Scheduled retraining: a ``schedule.tick`` job once a minute, shared by all replicas.

Each tick is a job whose dedupe key is its minute, so however many replicas run,
each minute is handled once; it queues the next minute's tick before it works, so
the chain survives a crash. A tick checks ``retraining.schedule`` (cron, UTC) of
every model in every repository the App serves, reading configurations from the
default branch at most every ``CONFIG_TTL`` seconds per repository, and opens the
retraining pull request through the same path as a drift alert or `/retrain`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import TYPE_CHECKING, Any

from mlpipex.app.forge import RepoForge
from mlpipex.app.registry import JobContext, register

if TYPE_CHECKING:
    from mlpipex.app.store import Store

__all__ = ["KIND", "on_tick", "start_ticking"]

KIND = "schedule.tick"
CONFIG_TTL = 600.0
_cache: dict[str, tuple[float, list[tuple[str, str]]]] = {}  # repository → (read at, [(model, cron)])
_cache_lock = threading.Lock()


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _enqueue(store: Store, minute: dt.datetime, now: dt.datetime) -> None:
    store.jobs.enqueue(KIND, {"minute": minute.strftime("%Y-%m-%dT%H:%M")}, dedupe_key=f"{KIND}:{minute:%Y-%m-%dT%H:%M}",
                       delay_seconds=max(0.0, (minute - now).total_seconds()), max_attempts=2)  # fmt: skip


def start_ticking(store: Store, now: dt.datetime | None = None) -> None:
    """Make sure the chain of ticks runs (called when a worker starts; idempotent)."""
    moment = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    _enqueue(store, _minute(moment) + dt.timedelta(minutes=1), moment)


def _schedules(forge: RepoForge) -> list[tuple[str, str]]:
    with _cache_lock:
        cached = _cache.get(forge.full_name)
        if cached and time.monotonic() - cached[0] < CONFIG_TTL:
            return cached[1]
    found = [(c.model.name, c.retraining.schedule) for c in forge.configs(forge.default_branch()) if c.retraining.schedule]
    with _cache_lock:
        _cache[forge.full_name] = (time.monotonic(), found)
    return found


@register(KIND)
def on_tick(payload: dict[str, Any], ctx: JobContext) -> None:
    from mlpipex.app import retraining
    from mlpipex.app.recording import choose_config
    from mlpipex.config.cron import parse_cron

    minute = dt.datetime.strptime(payload["minute"], "%Y-%m-%dT%H:%M")
    _enqueue(ctx.store, minute + dt.timedelta(minutes=1), ctx.store.clock())
    done = set(ctx.progress.get("done", []))
    for repository, installation in ctx.store.installations.all():
        try:
            forge = RepoForge(ctx.github_for(installation), repository)
            due = [model for model, cron in _schedules(forge) if parse_cron(cron).matches(minute)]
        except Exception as exc:  # one repository's trouble must not stop the others' schedules
            ctx.log.warning("schedule: cannot read %s: %s", repository, exc)
            continue
        for model in due:
            key = f"{repository}#{model}"
            if key in done:
                continue
            config = choose_config(forge.configs(forge.default_branch()), model)
            if isinstance(config, str):
                continue
            url = retraining.request_retraining(forge, config, trigger=f"schedule {config.retraining.schedule}",
                                                actor="mlpipex schedule", reason=f"scheduled retraining ({payload['minute']} UTC)")  # fmt: skip
            ctx.store.audit.record(actor="system:schedule", action="retrain", outcome="succeeded", repository=repository,
                                   model=model, detail=url)  # fmt: skip
            done.add(key)
            ctx.save_progress({"done": sorted(done)})
