"""A local GitLab REST API for the GitLab provider, checked against GitLab's own API descriptions.

GitLab cannot run here, so this stand-in serves the four calls mlpipex makes (list,
create and update merge-request notes; create a commit status) and validates
*every* request it receives and *every* response body it returns: the commit status
against GitLab's OpenAPI v2 document, the notes against the JSON Schema GitLab's own
API tests use (``public_api/v4/notes.json``) and the parameters declared in
``lib/api/notes.rb`` (the notes endpoints are missing from the OpenAPI v2 document).
The excerpts are vendored in ``gitlab_openapi/``; its README records the source
paths, commits and what is checked. A request mlpipex builds wrongly answers 400
and fails the test, and so does a response GitLab would not send.

Like GitLab it pages note lists (``X-Next-Page`` and ``Link`` headers, at most 100
per page), wants the token in ``PRIVATE-TOKEN``, and records calls so tests assert
on them. Faults are injected per call (5xx, 429 with ``Retry-After``, 401/403) or
for statuses only (a Reporter token's 403, a refused transition's 400).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml

from _fake_server import FakeServer

HERE = Path(__file__).resolve().parent
SPECS = HERE / "gitlab_openapi"
NOTE_LIMIT = 1_000_000  # GitLab's validation of Note#note


def to_jsonschema(schema: Any) -> Any:
    """OpenAPI (2 and 3.0) → JSON Schema: ``nullable`` becomes a null alternative; refs stay."""
    if isinstance(schema, list):
        return [to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: to_jsonschema(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if converted.get("type") == "file":  # Swagger 2 only; never a JSON body
        converted.pop("type")
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _load(name: str) -> Any:
    text = (SPECS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


@functools.lru_cache(maxsize=1)
def schemas() -> dict[str, jsonschema.Draft7Validator]:
    """One validator per (endpoint, part), from the vendored GitLab descriptions (see gitlab_openapi/README.md)."""
    statuses = _load("commit_statuses.openapi_v2.yaml")
    definitions = to_jsonschema(statuses["definitions"])
    definitions["API_Entities_UserBasic"] = _load("user_basic.json")  # referenced, not in the v2 excerpt
    operation = statuses["paths"]["/api/v4/projects/{id}/statuses/{sha}"]["post"]
    [body] = [p["schema"] for p in operation["parameters"] if p["in"] == "body"]
    notes, params = _load("notes.json"), _load("notes_params.yaml")
    built = {
        "statuses.request": {**to_jsonschema(body), "definitions": definitions},
        "statuses.response": {**to_jsonschema(operation["responses"]["200"]["schema"]), "definitions": definitions},
        "notes.query": params["list_query"],
        "notes.list": notes,
        "notes.create": params["create_body"],
        "notes.update": params["update_body"],
        "note": notes["items"],
    }
    return {name: jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
            for name, schema in built.items()}  # fmt: skip


# (method, route, what to check the request with, what to check the response with)
ROUTES = [
    ("GET", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$"), "notes.query", "notes.list"),
    ("POST", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$"), "notes.create", "note"),
    ("PUT", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$"), "notes.update", "note"),
    ("POST", re.compile(r"^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{7,64})$"), "statuses.request", "statuses.response"),
]


class FakeGitLab(FakeServer):
    def __init__(self, *, token: str = "glpat-test", project_id: int = 42) -> None:
        self.token = token
        self.project_id = project_id
        self.calls: list[tuple[str, str, Any]] = []
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.faults: list[tuple[int, dict[str, str], Any]] = []  # (status, headers, body) for the next calls
        self.violations: list[str] = []
        self.seen_tokens: set[str] = set()
        # An answer GitLab gives to status updates only, e.g. (403, …) for a Reporter token, or (400, …)
        # for a state transition it refuses.
        self.status_refusal: tuple[int, str] | None = None
        self.link_base: str | None = None  # GitLab's external URL in Link headers, when it differs from CI_API_V4_URL
        self._next_id = 5000
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    status, headers, body = fake.handle(self.command, self.path, raw, self.headers.get("PRIVATE-TOKEN"))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        super().__init__(Handler)
        self.api_url = f"{self.url}/api/v4"

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        assert not self.violations, "\n".join(self.violations)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(self, method: str, raw_path: str, raw: bytes, token: str | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self.violations.append(f"{method} {parts.path}: body is not JSON")
            return 400, {}, {"message": "400 Bad request"}
        self.calls.append((method, parts.path, body))
        if token:
            self.seen_tokens.add(token)
        for verb, pattern, request_check, response_check in ROUTES:  # noqa: B007 - used after the loop
            match = pattern.match(parts.path)
            if verb == method and match:
                break
        else:
            return 404, {}, {"error": "404 Not Found"}
        checked = params if method == "GET" else body
        errors = [f"{error.message} at {list(error.absolute_path)}" for error in schemas()[request_check].iter_errors(checked)]
        if errors:  # GitLab answers a request its parameters reject with 400
            self.violations.extend(f"{method} {parts.path} request: {e}" for e in errors)
            return 400, {}, {"error": "; ".join(errors)}
        if self.faults:
            status, headers, fault = self.faults.pop(0)
            return status, headers, fault
        if token != self.token:
            return 401, {}, {"message": "401 Unauthorized"}
        if self.status_refusal and request_check.startswith("statuses"):
            return self.status_refusal[0], {}, {"message": self.status_refusal[1]}
        status, headers, reply = self._respond(method, request_check, match.groups(), body, params)
        if status < 300:
            for error in schemas()[response_check].iter_errors(reply):
                self.violations.append(f"{method} {parts.path} {status} response: {error.message} at {list(error.absolute_path)}")
        return status, headers, reply

    def _respond(self, method: str, route: str, groups: tuple[str, ...], body: Any,
                 params: dict[str, str]) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        if route.startswith("statuses"):
            return 201, {}, self._status(groups[1], body)
        iid = int(groups[1])
        notes = self.notes.setdefault(iid, [])
        if method == "GET":
            return self._page(notes, groups[0], iid, params)
        if method == "POST":
            if len(body.get("body", "")) > NOTE_LIMIT:
                return 400, {}, {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}
            note = self.note(iid, body["body"])
            notes.append(note)
            return 201, {}, note
        for note in notes:
            if note["id"] == int(groups[2]):
                if len(body.get("body", "")) > NOTE_LIMIT:
                    return 400, {}, {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}
                note["body"] = body["body"]
                note["updated_at"] = "2026-11-28T12:00:00.000Z"
                return 200, {}, note
        return 404, {}, {"message": "404 Not found"}

    def _page(self, notes: list[dict[str, Any]], project: str, iid: int,
              params: dict[str, str]) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        per_page = min(int(params.get("per_page", 20)), 100)  # GitLab caps pages at 100
        page = max(int(params.get("page", 1)), 1)
        ordered = notes if params.get("sort", "desc") == "asc" else list(reversed(notes))
        total_pages = max((len(notes) + per_page - 1) // per_page, 1)
        base = f"{self.link_base or self.api_url}/projects/{project}/merge_requests/{iid}/notes?per_page={per_page}&sort={params.get('sort', 'desc')}"
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(notes)),
                   "X-Total-Pages": str(total_pages), "X-Next-Page": str(page + 1) if page < total_pages else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else ""}  # fmt: skip
        links = [f'<{base}&page=1>; rel="first"', f'<{base}&page={total_pages}>; rel="last"']
        if page < total_pages:
            links.insert(0, f'<{base}&page={page + 1}>; rel="next"')
        headers["Link"] = ", ".join(links)
        start = (page - 1) * per_page
        return 200, headers, ordered[start : start + per_page]

    def note(self, iid: int, text: str, *, system: bool = False, author: str = "mlpipex-bot") -> dict[str, Any]:
        """A note as GitLab's API returns it (fields and types per notes.json)."""
        return {
            "id": self._id(), "type": None, "body": text, "attachment": None,
            "author": {"id": 7, "username": author, "name": author, "state": "active",
                       "avatar_url": "https://gitlab.example.com/avatar.png", "web_url": f"https://gitlab.example.com/{author}"},
            "created_at": "2026-11-28T10:00:00.000Z", "updated_at": "2026-11-28T10:00:00.000Z",
            "system": system, "noteable_id": 900 + iid, "noteable_type": "MergeRequest", "noteable_iid": iid,
            "resolvable": False, "confidential": False, "internal": False, "commands_changes": {},
        }  # fmt: skip

    def add_note(self, iid: int, text: str, *, system: bool = False) -> dict[str, Any]:
        note = self.note(iid, text, system=system, author="someone")
        self.notes.setdefault(iid, []).append(note)
        return note

    def _status(self, sha: str, body: dict[str, Any]) -> dict[str, Any]:
        status = {
            "id": self._id(), "sha": sha, "ref": body.get("ref"), "status": body["state"],
            "name": body.get("name") or body.get("context") or "default", "target_url": body.get("target_url"),
            "description": body.get("description"), "created_at": "2026-11-28T10:00:00.000Z",
            "allow_failure": False, "pipeline_id": body.get("pipeline_id") or 77,
            "author": {"id": 7, "username": "mlpipex-bot", "name": "mlpipex-bot", "state": "active",
                       "avatar_url": "https://gitlab.example.com/avatar.png", "web_url": "https://gitlab.example.com/mlpipex-bot"},
        }  # fmt: skip
        status = {k: v for k, v in status.items() if v is not None}  # the description marks no field nullable
        self.statuses.append(copy.deepcopy(status))
        return status
