"""Health, readiness, and the authenticated audit and job-queue API."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mlpipex.app.auth import bearer_matches
from mlpipex.app.webhooks import Problem

__all__ = ["router"]

router = APIRouter()


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: bool
    worker: bool | None = None


class AuditItem(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    repository: str | None
    model: str | None
    environment: str | None
    from_digest: str | None
    to_digest: str | None
    outcome: str
    detail: str | None


class JobItem(BaseModel):
    id: int
    kind: str
    status: str
    attempts: int
    max_attempts: int
    next_run_at: str
    last_error: str | None


class JobsPage(BaseModel):
    counts: dict[str, int]  # jobs per status
    jobs: list[JobItem]


class AuditPage(BaseModel):
    entries: list[AuditItem]
    next_before: int | None  # pass as ?before= for the next (older) page; null on the last page


def _authorised(request: Request) -> Any:
    state = request.app.state.mlpipex
    token = state.settings.api_token.get_secret_value() if state.settings.api_token else ""
    if not token:
        raise HTTPException(503, "the API is off: set MLPIPEX_API_TOKEN to enable it")
    if not bearer_matches(token, request.headers.get("authorization")):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    return state


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="The database answers (and the worker runs)",
            responses={503: {"model": Readiness}})  # fmt: skip
async def readyz(request: Request) -> Any:
    state = request.app.state.mlpipex
    database = await run_in_threadpool(state.store.ping)
    worker = state.worker.alive if state.worker is not None else None
    ready = database and worker is not False
    body = Readiness(status="ready" if ready else "unavailable", database=database, worker=worker)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/api/audit",
    response_model=AuditPage,
    summary="Audit log, newest first",
    responses={401: {"model": Problem}, 503: {"model": Problem}},
    openapi_extra={"security": [{"bearer": []}]},
)
async def audit(
    request: Request,
    repository: str | None = Query(None, max_length=300, description="owner/name"),
    model: str | None = Query(None, max_length=200),
    environment: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
    before: int | None = Query(None, ge=1, le=2**62, description="the next_before of the previous page"),
) -> Any:
    state = _authorised(request)
    entries = await run_in_threadpool(state.store.audit.query, repository=repository, model=model,
                                      environment=environment, limit=limit, before_id=before)  # fmt: skip
    next_before = entries[-1].id if len(entries) == limit else None
    return AuditPage(entries=[AuditItem(**e.to_json()) for e in entries], next_before=next_before)


@router.get(
    "/api/jobs",
    response_model=JobsPage,
    summary="The job queue: counts per status, and jobs (e.g. ?status=dead for the dead letters)",
    responses={401: {"model": Problem}, 503: {"model": Problem}},
    openapi_extra={"security": [{"bearer": []}]},
)
async def list_jobs(
    request: Request,
    status: Literal["queued", "running", "done", "failed", "dead"] | None = Query(None),
    kind: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    state = _authorised(request)
    found = await run_in_threadpool(state.store.jobs.list, status=status, kind=kind, limit=limit)
    counts = await run_in_threadpool(state.store.jobs.counts)
    items = [JobItem(id=j.id, kind=j.kind, status=j.status, attempts=j.attempts, max_attempts=j.max_attempts,
                     next_run_at=j.next_run_at.isoformat() + "Z", last_error=j.last_error) for j in found]  # fmt: skip
    return JobsPage(counts=counts, jobs=items)
