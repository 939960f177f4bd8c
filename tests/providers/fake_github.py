"""A local GitHub REST API for PyGithub, checked against GitHub's own OpenAPI description.

GitHub cannot run here, so this stand-in serves the few endpoints mlpipex uses and
validates *every* request body it receives and *every* response it returns against
the operation's schema in npm ``@octokit/openapi`` (api.github.com.deref.json). A
request mlpipex builds wrongly, or a response shape the client would not meet in
production, fails the test. Responses start from the spec's own examples.

It also mints installation tokens (``POST /app/installations/{id}/access_tokens``)
for a request signed with the App's JWT (RS256, checked against ``app_public_key``).
It records calls (and the Authorization header of each) so tests assert on them, pages comment lists with Link headers
like GitHub, and injects faults: 5xx, secondary rate limits with Retry-After,
403 for a read-only token.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema

from _fake_server import FakeServer

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / ".tools" / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.deref.json"


@functools.lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def to_jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes an explicit null alternative."""
    if isinstance(schema, list):
        return [to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: to_jsonschema(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.lru_cache(maxsize=64)
def _validator(path: str, method: str, kind: str, status: str = "") -> jsonschema.Draft7Validator | None:
    operation = spec()["paths"][path][method]
    if kind == "request":
        content = (operation.get("requestBody") or {}).get("content", {})
    else:
        content = operation["responses"][status].get("content", {})
    schema = (content.get("application/json") or {}).get("schema")
    return jsonschema.Draft7Validator(to_jsonschema(schema)) if schema else None


_MISSING = object()


def _valid(schema: dict[str, Any], value: Any) -> bool:
    return jsonschema.Draft7Validator(schema).is_valid(value)


def synthesize(schema: Any, sample: Any = _MISSING) -> Any:
    """A value valid for ``schema``, taking ``sample`` (the spec's example) wherever it fits.

    GitHub's published examples are not always complete for their own schemas, so
    the example is a starting point and the schema fills in what it leaves out.
    """
    if sample is not _MISSING and _valid(schema, sample):
        return copy.deepcopy(sample)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            for option in options:
                if sample is not _MISSING and _valid(option, sample):
                    return copy.deepcopy(sample)
            concrete = [o for o in options if o.get("type") != "null"] or options
            return synthesize(concrete[0], sample)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = synthesize(part, sample)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return sample if sample in schema["enum"] else schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        given = sample if isinstance(sample, dict) else {}
        result = {}
        for name, sub in (schema.get("properties") or {}).items():
            if name in schema.get("required", []) or name in given:
                result[name] = synthesize(sub, given.get(name, _MISSING))
        return result
    if kind == "array":
        items = schema.get("items") or {}
        return [synthesize(items, v) for v in sample] if isinstance(sample, list) else []
    if kind == "string":
        if isinstance(sample, str):
            return sample
        return {"date-time": "2026-11-28T00:00:00Z", "uri": "https://example.com/x",
                "email": "octocat@example.com"}.get(schema.get("format", ""), "x")  # fmt: skip
    if kind == "integer":
        return sample if isinstance(sample, int) and not isinstance(sample, bool) else 1
    if kind == "number":
        return sample if isinstance(sample, (int, float)) and not isinstance(sample, bool) else 1.0
    if kind == "boolean":
        return sample if isinstance(sample, bool) else False
    return None


@functools.lru_cache(maxsize=64)
def _template(path: str, method: str, status: str, name: str | None) -> Any:
    content = spec()["paths"][path][method]["responses"][status]["content"]["application/json"]
    examples = content.get("examples") or {}
    sample = examples[name or next(iter(examples))]["value"] if examples else _MISSING
    return synthesize(to_jsonschema(content["schema"]), sample)


def example(path: str, method: str, status: str, name: str | None = None) -> Any:
    """A valid response body for the operation, starting from the spec's example."""
    return copy.deepcopy(_template(path, method, status, name))


class SchemaViolation(AssertionError):
    pass


ROUTES = [
    ("POST", re.compile(r"^/app/installations/(\d+)/access_tokens$"), "/app/installations/{installation_id}/access_tokens"),
    ("GET", re.compile(r"^/repos/([^/]+)/([^/]+)$"), "/repos/{owner}/{repo}"),
    ("POST", re.compile(r"^/repos/([^/]+)/([^/]+)/check-runs$"), "/repos/{owner}/{repo}/check-runs"),
    ("PATCH", re.compile(r"^/repos/([^/]+)/([^/]+)/check-runs/(\d+)$"), "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)$"), "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("GET", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$"), "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$"), "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$"), "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
]  # fmt: skip


class FakeGitHub(FakeServer):
    routes = ROUTES  # subclasses serve more endpoints by extending this list and _respond

    def __init__(self, *, per_page: int = 30) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.annotations: dict[int, list[dict[str, Any]]] = {}
        self.actions: dict[int, list[dict[str, Any]]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.faults: list[tuple[int, dict[str, str], dict[str, Any]]] = []  # (status, headers, body) for next calls
        self.read_only = False
        self.per_page = per_page
        self.violations: list[str] = []
        self._next_id = 1000
        self.authorizations: list[str] = []  # the Authorization header of each call
        self.app_id: int | None = None  # set both to accept App JWTs for installation tokens
        self.app_public_key: Any = None
        self.token_ttl_seconds = 3600
        self.tokens: dict[str, int] = {}  # installation token → installation id
        # Fields of the App a created check run names as its author (GitHub sets it from the
        # token that created the run); None: the OpenAPI example's App (id 1, "octoapp").
        self.check_run_app: dict[str, Any] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.authorizations.append(self.headers.get("Authorization", ""))
                status, headers, body = fake.handle(self.command, self.path, raw)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        super().__init__(Handler)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        assert not self.violations, "\n".join(self.violations)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(self, method: str, raw_path: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        path, _, query = raw_path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        body = json.loads(raw) if raw else None
        self.calls.append((method, path, body))
        for verb, pattern, template in self.routes:  # noqa: B007 - the match is used after the loop
            match = pattern.match(path)
            if verb == method and match:
                break
        else:
            return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        request = _validator(template, method.lower(), "request")
        if request is not None and body is not None:
            for error in request.iter_errors(body):
                self.violations.append(f"{method} {template} request: {error.message} at {list(error.absolute_path)}")
        if self.faults:
            status, headers, fault = self.faults.pop(0)
            return status, headers, fault
        if self.read_only and method != "GET":
            return 403, {}, {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"}
        status, headers, reply = self._respond(method, template, match.groups(), body, params)
        response = _validator(template, method.lower(), "response", str(status))
        if response is not None:
            for error in response.iter_errors(reply):
                self.violations.append(f"{method} {template} {status} response: {error.message} at {list(error.absolute_path)}")
        return status, headers, reply

    def _respond(self, method: str, template: str, groups: tuple[str, ...], body: Any,
                 params: dict[str, str]) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        if template.startswith("/app/installations/"):
            return self._access_token(int(groups[0]))
        owner, repo = groups[0], groups[1]
        if template == "/repos/{owner}/{repo}":
            data = example(template, "get", "200")
            data.update(name=repo, full_name=f"{owner}/{repo}", url=f"{self.url}/repos/{owner}/{repo}")
            data["owner"]["login"] = owner
            return 200, {}, data
        if template == "/repos/{owner}/{repo}/issues/{issue_number}":
            issue = example(template, "get", "200")
            issue.update(number=int(groups[2]), url=f"{self.url}/repos/{owner}/{repo}/issues/{groups[2]}",
                         comments_url=f"{self.url}/repos/{owner}/{repo}/issues/{groups[2]}/comments")  # fmt: skip
            return 200, {}, issue
        if template.endswith("/check-runs"):
            run = example(template, "post", "201", "example-of-in-progress-conclusion")
            run.update(id=self._id(), name=body["name"], head_sha=body["head_sha"], status=body.get("status", "queued"),
                       conclusion=body.get("conclusion"), external_id=body.get("external_id"),
                       url=f"{self.url}/repos/{owner}/{repo}/check-runs/{self._next_id}")  # fmt: skip
            if self.check_run_app is not None:
                run["app"] = {**run["app"], **self.check_run_app}
            self.check_runs[run["id"]] = run
            self._apply_output(run, body)
            return 201, {}, run
        if template.endswith("/check-runs/{check_run_id}"):
            run = self.check_runs[int(groups[2])]
            for key in ("status", "conclusion", "name", "completed_at", "external_id"):
                if key in body:
                    run[key] = body[key]
            self._apply_output(run, body)
            return 200, {}, run
        if template.endswith("/issues/{issue_number}/comments") and method == "GET":
            comments = self.comments.get(int(groups[2]), [])
            page, per_page = int(params.get("page", 1)), int(params.get("per_page", self.per_page))
            start = (page - 1) * per_page
            headers = {}
            if start + per_page < len(comments):
                base = f"{self.url}/repos/{owner}/{repo}/issues/{groups[2]}/comments?per_page={per_page}"
                last = (len(comments) + per_page - 1) // per_page
                headers["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
            return 200, headers, comments[start : start + per_page]
        if template.endswith("/issues/{issue_number}/comments"):
            comment = example(template, "post", "201")
            comment.update(id=self._id(), body=body["body"],
                           url=f"{self.url}/repos/{owner}/{repo}/issues/comments/{self._next_id}")  # fmt: skip
            self.comments.setdefault(int(groups[2]), []).append(comment)
            return 201, {}, comment
        comment_id = int(groups[2])
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    comment["body"] = body["body"]
                    return 200, {}, comment
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def _access_token(self, installation_id: int) -> tuple[int, dict[str, str], Any]:
        import datetime

        import jwt

        scheme, _, token = self.authorizations[-1].partition(" ")
        try:
            claims = jwt.decode(token, self.app_public_key, algorithms=["RS256"]) if scheme.lower() == "bearer" else {}
        except Exception:
            claims = {}
        if self.app_id is None or str(claims.get("iss")) != str(self.app_id):
            return 401, {}, {"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"}
        reply = example("/app/installations/{installation_id}/access_tokens", "post", "201")
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.token_ttl_seconds)
        reply.update(token=f"ghs_fake{self._id()}", expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.tokens[reply["token"]] = installation_id
        return 201, {}, reply

    def _apply_output(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        output = body.get("output")
        if output:
            run["output"]["title"] = output.get("title")
            run["output"]["summary"] = output.get("summary")
            annotations = self.annotations.setdefault(run["id"], [])
            annotations.extend(output.get("annotations", []))
            run["output"]["annotations_count"] = len(annotations)
        if "actions" in body:
            self.actions[run["id"]] = body["actions"]

    def add_comment(self, issue: int, text: str) -> None:
        comment = example("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", "201")
        comment.update(id=self._id(), body=text)
        self.comments.setdefault(issue, []).append(comment)
