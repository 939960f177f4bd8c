"""GitLab: one merge-request note per model and a commit status, through the REST API.

The only module that talks to GitLab's API. The job token cannot write notes, so
a project or group access token (scope ``api``, role Reporter or higher) comes in
``MLPIPEX_GITLAB_TOKEN``. Without one, with a token GitLab refuses (401/403/404),
or in a merge request from a fork (whose pipeline never sees the parent's
variables), the report stays in the job log and the artifacts and the verdict does
not change; only ``--strict-report`` makes that fail. Other refusals (400/422, say a
status transition GitLab does not allow) are warnings too. 409, 429 and 5xx are
retried with backoff honouring ``Retry-After``; when it gives up: exit 3. The token is sent in
the ``PRIVATE-TOKEN`` header and never appears in a message.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlpipex.errors import ExternalError, InputError
from mlpipex.gates.result import Report, Status
from mlpipex.providers._base import CiContext, DeployEvent, Published
from mlpipex.providers._text import fit
from mlpipex.providers.local import write_dotenv
from mlpipex.report import marker_for
from mlpipex.retry import backoff, retry_after
from mlpipex.secrets import redact_data

__all__ = ["NOTE_LIMIT", "GitLabProvider", "dotenv_key", "status_state"]

NOTE_LIMIT = 1_000_000  # GitLab rejects longer note bodies
PER_PAGE = 100  # GitLab's maximum page size
RETRYABLE = {409, 429, 500, 502, 503, 504}  # 409: "another update to this commit status is in progress"
MAX_WAIT = 120.0  # never sleep longer than this on one Retry-After
DESCRIPTION_LIMIT = 255  # commit status descriptions longer than this are rejected


def status_state(report: Report) -> str:
    """The commit status for a finished run: ``failed`` exactly when the job fails."""
    if report.verdict is Status.PASS:
        return "success"
    if report.verdict is Status.WARN and report.fail_on is not Status.WARN:
        return "success"
    return "failed"


def dotenv_key(name: str) -> str:
    """``report-path`` → ``MLPIPEX_REPORT_PATH``: GitLab's dotenv keys allow only letters, digits, ``_``."""
    return "MLPIPEX_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _context_from(env: Mapping[str, str]) -> CiContext:
    source, target = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"), env.get("CI_MERGE_REQUEST_PROJECT_ID")
    return CiContext(
        provider="gitlab",
        repository=env.get("CI_PROJECT_PATH"),
        change=_int(env.get("CI_MERGE_REQUEST_IID")),
        # In a merged-results pipeline CI_COMMIT_SHA is the temporary merge commit; reviewers see the head.
        sha=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA"),
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME"),
        run_url=env.get("CI_JOB_URL"),
        fork=bool(source and target and source != target),
    )


class GitLabProvider:
    name = "gitlab"

    def __init__(self, environ: Mapping[str, str] | None = None, *, strict: bool = False, token: str | None = None,
                 transport: Any = None, retries: int = 5, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.env = dict(os.environ if environ is None else environ)
        self.strict = strict
        self.token = token or self.env.get("MLPIPEX_GITLAB_TOKEN")
        self.api_url = (self.env.get("CI_API_V4_URL") or "").rstrip("/")
        self.transport = transport
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self._context = _context_from(self.env)
        # The merge request lives in the target project; statuses go where the pipeline runs.
        self.mr_project = self.env.get("CI_MERGE_REQUEST_PROJECT_ID") or self.env.get("CI_PROJECT_ID")
        self.pipeline_project = self.env.get("CI_PROJECT_ID")
        self._client: Any = None
        self._digest: str | None = None

    def context(self) -> CiContext:
        return self._context

    # -- the client ----------------------------------------------------------------

    def _http(self) -> Any:
        if self._client is None:
            try:
                import httpx
            except ImportError:
                raise InputError("reporting to GitLab needs the `gitlab` extra", fix="pip install 'mlpipex[gitlab]'") from None
            if not self.token:
                raise _NoWrite("no GitLab token: set MLPIPEX_GITLAB_TOKEN to a project or group access token "
                               "(scope `api`, role Reporter or higher); the job token cannot write notes")  # fmt: skip
            if not self.api_url:
                raise _NoWrite("CI_API_V4_URL is not set")
            self._client = httpx.Client(base_url=self.api_url, transport=self.transport, timeout=30,
                                        headers={"PRIVATE-TOKEN": self.token, "User-Agent": "mlpipex"})  # fmt: skip
        return self._client

    def _call(self, what: str, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        """One request, retried on 429/5xx and network errors; returns the httpx response."""
        import httpx

        client = self._http()
        problem = ""
        for attempt in range(self.retries + 1):
            try:
                response = client.request(method, path, json=redact_data(json), params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                wait = backoff(attempt, base=self.backoff, cap=MAX_WAIT)
            else:
                if response.status_code < 400:
                    return response
                message = _message(response)
                if response.status_code not in RETRYABLE:
                    # 401/403/404: this token may not write here; 400/422: GitLab rejected this update (say, a
                    # status transition it does not allow). Either way the report is not where reviewers look,
                    # which is a warning, not a reason to change the gate's verdict.
                    raise _NoWrite(f"GitLab refused {what} ({response.status_code}: {message})")
                problem = f"{response.status_code} {message}"
                asked = retry_after(response.headers.get("Retry-After"))
                wait = backoff(attempt, base=self.backoff, cap=MAX_WAIT) if asked is None else asked
            if attempt < self.retries:
                self.sleep(min(wait, MAX_WAIT))
        raise ExternalError(f"GitLab failed {what} after {self.retries + 1} attempts: {problem}",
                            fix="GitLab may be having trouble or rate-limiting this token; rerun the job later")  # fmt: skip

    # -- Provider --------------------------------------------------------------------

    def started(self, model: str) -> None:
        if self._context.fork:
            return
        try:
            self._set_status(model, "running", "gates running")
        except _NoWrite:
            return  # publish() says why; the gates must run anyway

    def publish(self, report: Report, markdown: str, *, config_path: str) -> Published:
        self._digest = f"sha256:{report.model.sha256}" if report.model.sha256 else None
        if self._context.fork:
            return self._fallback("this merge request comes from a fork: its pipeline has no token to write notes")
        places: list[str] = []
        try:
            if self._context.change:
                places.append(self._upsert_note(report.model.name, markdown))
            title = f"{report.model.name}@{report.model.version}: {report.verdict.value}"
            self._set_status(report.model.name, status_state(report), title)
            places.append("commit status")
        except _NoWrite as exc:
            return self._fallback(str(exc), places)
        return Published(places=tuple(places))

    def artifact_pushed(self, model: str, reference: str) -> Published:
        """Nothing to link on GitLab: later jobs get the reference from the dotenv report (MLPIPEX_ARTIFACT)."""
        return Published()

    def deployed(self, event: DeployEvent, markdown: str) -> Published:
        """A commit status ``mlpipex/deploy/<model>/<environment>`` on the deployed commit."""
        if self._context.fork:
            return self._fallback("this pipeline runs for a fork: it has no token to set statuses")
        try:
            self._set_status(f"deploy/{event.model}/{event.environment}", "success" if event.ok else "failed", event.title)
        except _NoWrite as exc:
            return self._fallback(str(exc))
        return Published(places=("deploy commit status",))

    def _fallback(self, why: str, places: list[str] | None = None) -> Published:
        if self.strict:
            raise ExternalError(f"could not report to GitLab: {why}",
                                fix="set MLPIPEX_GITLAB_TOKEN (scope `api`, Reporter or higher), or drop --strict-report")  # fmt: skip
        return Published(places=tuple(places or ()) + ("job log",),
                         warnings=(f"could not report to GitLab: {why} (the job log and artifacts have the report)",))  # fmt: skip

    def _set_status(self, model: str, state: str, description: str) -> None:
        if not self._context.sha or not self.pipeline_project:
            raise _NoWrite("no commit SHA or project (CI_COMMIT_SHA, CI_PROJECT_ID) to attach a status to")
        body: dict[str, Any] = {"state": state, "name": f"mlpipex/{model}", "description": description[:DESCRIPTION_LIMIT]}
        if self._context.run_url:
            body["target_url"] = self._context.run_url
        if self.env.get("CI_COMMIT_REF_NAME"):
            body["ref"] = self.env["CI_COMMIT_REF_NAME"]
        if _int(self.env.get("CI_PIPELINE_ID")):
            body["pipeline_id"] = int(self.env["CI_PIPELINE_ID"])  # keep the status in this pipeline
        path = f"/projects/{quote(self.pipeline_project, safe='')}/statuses/{self._context.sha}"
        self._call("setting the commit status", "POST", path, json=body)

    def _upsert_note(self, model: str, markdown: str) -> str:
        """One note per model, found by its hidden marker on any page, edited in place."""
        if not self.mr_project:
            raise _NoWrite("CI_MERGE_REQUEST_PROJECT_ID / CI_PROJECT_ID is not set")
        notes = f"/projects/{quote(self.mr_project, safe='')}/merge_requests/{self._context.change}/notes"
        body = fit(markdown, NOTE_LIMIT, "a GitLab note")
        marker = marker_for(model)
        for note in self._all_notes(notes):
            if not note.get("system") and (note.get("body") or "").startswith(marker):
                self._call("updating the merge request note", "PUT", f"{notes}/{note['id']}", json={"body": body})
                return "MR note (updated)"
        self._call("commenting on the merge request", "POST", notes, json={"body": body})
        return "MR note"

    def _all_notes(self, path: str) -> Iterator[dict[str, Any]]:
        """The merge request's notes, page by page, following GitLab's pagination headers (lazily: the
        search stops at its note)."""
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": PER_PAGE, "sort": "asc", "order_by": "created_at"}
        pages = 0
        while url:
            response = self._call("listing merge request notes", "GET", url, params=params)
            yield from response.json()
            pages += 1
            following = response.links.get("next", {}).get("url")
            if following and following.startswith(self.api_url + "/"):  # absolute, with the query; never another host
                url, params = following, None
            elif response.headers.get("X-Next-Page"):
                params = {**(params or {}), "page": response.headers["X-Next-Page"], "per_page": PER_PAGE}
            else:
                url = None
            if pages > 10_000:  # a server that never stops paging is a broken server
                raise ExternalError("GitLab kept paging merge request notes past 10,000 pages", fix="rerun the job")

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        """A dotenv report for later jobs (``artifacts: reports: dotenv``): MLPIPEX_VERDICT, …"""
        target = self.env.get("MLPIPEX_OUTPUTS")
        if not target:
            return
        values = {dotenv_key(k): v for k, v in outputs.items()}
        if self._digest and "MLPIPEX_MODEL_DIGEST" not in values:
            values["MLPIPEX_MODEL_DIGEST"] = self._digest
        write_dotenv(Path(target), values)


class _NoWrite(Exception):
    """This token may not write here: a warning, unless --strict-report."""


def _message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or ""
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or "")[:300]
    return ""

