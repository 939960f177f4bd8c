"""GitHub: a check run per model and one sticky PR comment, through PyGithub.

The only module that talks to GitHub's API for the CI side. Works with the
Actions ``GITHUB_TOKEN`` (``checks: write``, ``pull-requests: write``) and with App
installation tokens. A token that may not write (a fork's, or missing
permissions) is a warning and the job summary carries the report; only
``--strict-report`` makes it fail. Rate limits and 5xx are retried honouring
``Retry-After`` (PyGithub's GithubRetry); when it gives up: exit 3.

The check run's Promote/Rollback buttons are added only when the run was created by
mlpipex's own App (its id in ``MLPIPEX_APP_ID``): GitHub sends ``requested_action``
to the App that created the run and to no one else, so on a run created with the
workflow's ``GITHUB_TOKEN`` (the ``github-actions`` App) they would do nothing.
A missing ``github`` extra is a warning like a token that may not write: it never
fails a gate or a deploy that is done (unless ``--strict-report``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpipex.errors import ExternalError
from mlpipex.gates.result import Report, Status
from mlpipex.providers._base import CiContext, DeployEvent, Published
from mlpipex.providers._text import fit
from mlpipex.providers.checks import check_name, check_run_actions
from mlpipex.providers.local import write_dotenv
from mlpipex.report import marker_for
from mlpipex.secrets import redact_data

__all__ = ["ANNOTATIONS_PER_REQUEST", "GitHubProvider", "conclusion_of"]

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per check-run request
SUMMARY_LIMIT = 65535
ACTIONS = check_run_actions()  # defined once for the provider and the App: providers/checks.py


def conclusion_of(report: Report) -> str:
    verdict = report.verdict
    if verdict is Status.PASS:
        return "success"
    if verdict is Status.WARN:
        return "failure" if report.fail_on is Status.WARN else "neutral"
    return "failure"


def _context_from(env: Mapping[str, str]) -> CiContext:
    event: dict[str, Any] = {}
    if env.get("GITHUB_EVENT_PATH") and Path(env["GITHUB_EVENT_PATH"]).is_file():
        try:
            event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
        except ValueError:
            event = {}
    pull = event.get("pull_request") or {}
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base_repo = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    server, repository, run = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    return CiContext(
        provider="github",
        repository=repository,
        change=pull.get("number"),
        sha=(pull.get("head") or {}).get("sha") or env.get("GITHUB_SHA"),  # the PR head, not the merge commit
        branch=(pull.get("head") or {}).get("ref") or env.get("GITHUB_REF_NAME"),
        run_url=f"{server}/{repository}/actions/runs/{run}" if repository and run else None,
        fork=bool(pull) and head_repo != base_repo,
    )  # fmt: skip


class GitHubProvider:
    name = "github"
    fallback_place = "job summary"

    def __init__(self, environ: Mapping[str, str] | None = None, *, strict: bool = False, token: str | None = None,
                 retries: int = 5, secondary_rate_wait: float = 60.0, context: CiContext | None = None,
                 api_url: str | None = None) -> None:  # fmt: skip
        self.env = dict(os.environ if environ is None else environ)
        self.strict = strict
        self.token = token or self.env.get("MLPIPEX_GITHUB_TOKEN") or self.env.get("GITHUB_TOKEN")
        self.retries = retries
        self.secondary_rate_wait = secondary_rate_wait
        self.api_url = api_url or self.env.get("GITHUB_API_URL", "https://api.github.com")
        self._context = context or _context_from(self.env)
        self._check_run: Any = None
        self._repo: Any = None

    def context(self) -> CiContext:
        return self._context

    # -- the client ----------------------------------------------------------------

    def _repository(self) -> Any:
        if self._repo is None:
            try:
                from github import Auth, Github, GithubRetry
            except ImportError:
                raise _NoWrite("reporting to GitHub needs the `github` extra (pip install 'mlpipex[github]')") from None
            if not self.token:
                raise _NoWrite("no GitHub token (set GITHUB_TOKEN, or pass github-token to the action)")
            if not self._context.repository:
                raise _NoWrite("GITHUB_REPOSITORY is not set")
            retry = GithubRetry(total=self.retries, backoff_factor=0.5, secondary_rate_wait=self.secondary_rate_wait)
            client = Github(auth=Auth.Token(self.token), base_url=self.api_url,
                            retry=retry, timeout=30)  # fmt: skip
            self._repo = self._call("reading the repository", client.get_repo, self._context.repository)
        return self._repo

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from github import GithubException
        from requests.exceptions import RequestException
        from urllib3.exceptions import HTTPError

        try:  # the edge to GitHub: no secret leaves in a comment or a check run
            return fn(*redact_data(args), **redact_data(kwargs))
        except GithubException as exc:
            message = (exc.data or {}).get("message") if isinstance(exc.data, dict) else str(exc.data)
            if exc.status in (401, 403, 404):
                raise _NoWrite(f"GitHub refused {what} ({exc.status}: {message})") from None
            raise ExternalError(f"GitHub failed {what}: {exc.status} {message}",
                                fix="GitHub may be having trouble; rerun the job") from None  # fmt: skip
        except (RequestException, HTTPError) as exc:
            raise ExternalError(f"GitHub failed {what} after {self.retries} retries: {type(exc).__name__}: {exc}",
                                fix="GitHub may be having trouble or rate-limiting this token; rerun the job later") from None  # fmt: skip

    # -- Provider --------------------------------------------------------------------

    def started(self, model: str) -> None:
        if self._context.fork or not self._context.sha:
            return
        try:
            repo = self._repository()
            self._check_run = self._call("creating the check run", repo.create_check_run, name=check_name(model),
                                         head_sha=self._context.sha, status="in_progress",
                                         details_url=self._context.run_url or repo.html_url)  # fmt: skip
        except _NoWrite:
            self._check_run = None  # publish() says why; the gates must run anyway

    def publish(self, report: Report, markdown: str, *, config_path: str) -> Published:
        if self._context.fork:
            return self._fallback("this pull request comes from a fork: its token cannot write checks or comments")
        places: list[str] = []
        try:
            self._publish_check(report, markdown, config_path)
            places.append("check run")
            if self._context.change:
                places.append(self._upsert_comment(report.model.name, markdown))
        except _NoWrite as exc:
            return self._fallback(str(exc), places)
        return Published(places=tuple(places))

    def artifact_pushed(self, model: str, reference: str) -> Published:
        """Record ``reference`` as the external_id of this commit's gate check run for ``model``."""
        if self._context.fork or not self._context.sha:
            return Published()
        try:
            commit = self._call("reading the commit", self._repository().get_commit, self._context.sha)
            runs = self._call("listing check runs", lambda: list(commit.get_check_runs(check_name=check_name(model))))
            if not runs:
                return Published(warnings=(f"no `{check_name(model)}` check run on {self._context.sha[:12]} to link "
                                           "the package to; run `mlpipex gate` on this commit first",))  # fmt: skip
            self._call("linking the package", max(runs, key=lambda run: run.id).edit, external_id=reference)
        except _NoWrite as exc:
            return self._fallback(str(exc))
        return Published(places=("gate check run (artifact)",))

    def deployed(self, event: DeployEvent, markdown: str) -> Published:
        """A completed check run ``mlpipex deploy / <model> (<env>)`` on the deployed commit."""
        if not self._context.sha:
            return self._fallback("no commit SHA to attach the deploy status to")
        try:
            repo = self._repository()
            output = {"title": event.title[:255], "summary": _fit(markdown)}
            self._call("recording the deploy", repo.create_check_run,
                       name=f"mlpipex deploy / {event.model} ({event.environment})", head_sha=self._context.sha,
                       status="completed", conclusion="success" if event.ok else "failure", output=output,
                       details_url=self._context.run_url or repo.html_url)  # fmt: skip
        except _NoWrite as exc:
            return self._fallback(str(exc))
        return Published(places=("deploy check run",))

    def _fallback(self, why: str, places: list[str] | None = None) -> Published:
        summary = self.summary_note()
        if self.strict:
            raise ExternalError(f"could not report to GitHub: {why}",
                                fix="grant `checks: write` and `pull-requests: write`, or drop --strict-report")  # fmt: skip
        return Published(places=tuple(places or ()) + ((self.fallback_place,) if summary else ()),
                         warnings=(f"could not report to GitHub: {why}{summary}",))  # fmt: skip

    def summary_note(self) -> str:
        """Where the report still is when GitHub cannot take it."""
        return " (the job summary has the report)" if self.env.get("GITHUB_STEP_SUMMARY") else ""

    def _publish_check(self, report: Report, markdown: str, config_path: str) -> None:
        repo = self._repository()
        if not self._context.sha:
            raise _NoWrite("no commit SHA (GITHUB_SHA) to attach a check run to")
        name = check_name(report.model.name)
        title = f"{report.model.name}@{report.model.version}: {report.verdict.value}"
        annotations = _annotations(report, config_path, self.env)
        output = {"title": title, "summary": _fit(markdown), "annotations": annotations[:ANNOTATIONS_PER_REQUEST]}
        arguments: dict[str, Any] = {"status": "completed", "conclusion": conclusion_of(report), "output": output}
        if self._check_run is None:
            self._check_run = self._call("creating the check run", repo.create_check_run, name=name,
                                         head_sha=self._context.sha, **arguments)  # fmt: skip
            if self._buttons_work(self._check_run):  # who created it is known only now
                self._call("adding the buttons", self._check_run.edit, actions=ACTIONS)
        else:
            if self._buttons_work(self._check_run):
                arguments["actions"] = ACTIONS
            self._call("updating the check run", self._check_run.edit, **arguments)
        for start in range(ANNOTATIONS_PER_REQUEST, len(annotations), ANNOTATIONS_PER_REQUEST):
            batch = {"title": title, "summary": output["summary"], "annotations": annotations[start : start + ANNOTATIONS_PER_REQUEST]}
            self._call("adding annotations", self._check_run.edit, output=batch)

    def _buttons_work(self, check_run: Any) -> bool:
        """Whether mlpipex's App created ``check_run``: only its creator receives a button press."""
        wanted = (self.env.get("MLPIPEX_APP_ID") or "").strip()
        app = getattr(check_run, "app", None)
        return bool(wanted) and app is not None and str(app.id) == wanted

    def _upsert_comment(self, model: str, markdown: str) -> str:
        """One comment per model, found by its hidden marker on any page, edited in place."""
        repo = self._repository()
        issue = self._call("reading the pull request", repo.get_issue, self._context.change)
        marker = marker_for(model)
        for comment in self._call("listing comments", lambda: list(issue.get_comments())):
            if (comment.body or "").startswith(marker):
                self._call("updating the comment", comment.edit, markdown)
                return "PR comment (updated)"
        self._call("commenting", issue.create_comment, markdown)
        return "PR comment"

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        target = self.env.get("GITHUB_OUTPUT")
        if target:
            write_dotenv(Path(target), outputs)


class _NoWrite(Exception):
    """This token may not write here: a warning, unless --strict-report."""


def _fit(markdown: str) -> str:
    return fit(markdown, SUMMARY_LIMIT, "a check run")


def _annotations(report: Report, config_path: str, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """One annotation per failed or warning gate, on the gate's line of mlpipex.yaml."""
    from mlpipex.config import load_config

    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    path = Path(config_path).resolve()
    try:
        relative = path.relative_to(workspace).as_posix()
    except ValueError:
        relative = path.name
    try:
        config = load_config(path, check_files=False)
    except Exception:  # an annotation without a line is still an annotation
        config = None
    found = []
    for gate in report.gates:
        if gate.status not in (Status.FAIL, Status.WARN, Status.ERROR):
            continue
        line = (config.line_of("gates", "schema" if gate.gate == "schema" else gate.gate) if config else None) or 1
        found.append({
            "path": relative, "start_line": line, "end_line": line,
            "annotation_level": "warning" if gate.status is Status.WARN else "failure",
            "title": f"{gate.gate} gate: {gate.status.value}", "message": gate.message[:64000],
        })  # fmt: skip
        for m in gate.measurements:
            if m.status in (Status.FAIL, Status.WARN):
                found.append({
                    "path": relative, "start_line": line, "end_line": line,
                    "annotation_level": "warning" if m.status is Status.WARN else "failure",
                    "title": f"{gate.gate}: {m.name}" + (f" ({m.group})" if m.group else ""),
                    "message": f"{m.name} = {m.value} {m.unit}".strip() + (f"; threshold {m.threshold}" if m.threshold else ""),
                })  # fmt: skip
    return found
