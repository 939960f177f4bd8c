"""The fake GitHub API, grown to what the App's handlers use: a small repository model.

Same rules as :mod:`fake_github`: every request and response is validated against
GitHub's OpenAPI description. The state is just enough of a repository to act on:
branches pointing at commits, files per commit, pull requests with reviews,
collaborator roles, team memberships, reactions, deployments, labels.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import unquote

from .fake_github import ROUTES, FakeGitHub, example

R = r"^/repos/([^/]+)/([^/]+)"
APP_ROUTES = [
    ("GET", re.compile(R + r"/collaborators/([^/]+)/permission$"), "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("GET", re.compile(r"^/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)$"), "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("GET", re.compile(R + r"/pulls/(\d+)$"), "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("PATCH", re.compile(R + r"/pulls/(\d+)$"), "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("GET", re.compile(R + r"/pulls/(\d+)/reviews$"), "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("GET", re.compile(R + r"/pulls$"), "/repos/{owner}/{repo}/pulls"),
    ("POST", re.compile(R + r"/pulls$"), "/repos/{owner}/{repo}/pulls"),
    ("GET", re.compile(R + r"/commits/([^/]+)$"), "/repos/{owner}/{repo}/commits/{ref}"),
    ("GET", re.compile(R + r"/commits/([^/]+)/check-runs$"), "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", re.compile(R + r"/git/trees/([^/]+)$"), "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("GET", re.compile(R + r"/contents/(.+)$"), "/repos/{owner}/{repo}/contents/{path}"),
    ("PUT", re.compile(R + r"/contents/(.+)$"), "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", re.compile(R + r"/branches/([^/]+)$"), "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", re.compile(R + r"/git/ref/(.+)$"), "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("POST", re.compile(R + r"/git/refs$"), "/repos/{owner}/{repo}/git/refs"),
    ("GET", re.compile(R + r"/issues/comments/(\d+)$"), "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", re.compile(R + r"/issues/comments/(\d+)/reactions$"), "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("POST", re.compile(R + r"/issues/(\d+)/labels$"), "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("POST", re.compile(R + r"/deployments$"), "/repos/{owner}/{repo}/deployments"),
    ("POST", re.compile(R + r"/deployments/(\d+)/statuses$"), "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
]  # fmt: skip


def _sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


class FakeGitHubApp(FakeGitHub):
    routes = APP_ROUTES + ROUTES

    def __init__(self, repository: str = "acme/models", *, per_page: int = 30) -> None:
        super().__init__(per_page=per_page)
        self.repository = repository
        self.default_branch = "main"
        self.branches: dict[str, str] = {}
        self.files: dict[str, dict[str, str]] = {}  # commit sha → path → text
        self.pulls: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.roles: dict[str, str] = {}  # login → admin/maintain/write/triage/read
        self.team_members: dict[str, set[str]] = {}  # "org/slug" → logins
        self.reactions: dict[int, list[str]] = {}
        self.deployments: list[dict[str, Any]] = []
        self.labels: dict[int, list[str]] = {}
        self.human_comments: set[int] = set()

    # -- building the world -----------------------------------------------------------

    def commit(self, branch: str, files: dict[str, str], *, parent: str | None = None) -> str:
        base = dict(self.files.get(parent or self.branches.get(branch, ""), {}))
        base.update(files)
        sha = _sha(branch, *sorted(f"{k}={v}" for k, v in base.items()), str(len(self.files)))
        self.files[sha] = base
        self.branches[branch] = sha
        return sha

    def open_pull(self, number: int, *, head: str, author: str = "dev", base: str = "main", fork: bool = False,
                  files: dict[str, str] | None = None) -> str:  # fmt: skip
        sha = self.commit(head, files or {}, parent=self.branches[base])
        self.pulls[number] = {"head_sha": sha, "head_ref": head, "base_ref": base, "fork": fork, "merged": False,
                              "user": author, "state": "open", "title": f"PR {number}", "body": ""}  # fmt: skip
        return sha

    def review(self, number: int, login: str, state: str = "APPROVED") -> None:
        self.reviews.setdefault(number, []).append(
            {"login": login, "state": state, "commit_id": self.pulls[number]["head_sha"]})

    def post_comment(self, number: int, author: str, body: str) -> dict[str, Any]:
        self.add_comment(number, body)
        comment = self.comments[number][-1]
        comment["user"]["login"] = author
        self.human_comments.add(comment["id"])
        return comment

    def replies(self, number: int) -> list[str]:
        """What the App wrote in the issue or pull request (not what people commented)."""
        return [c["body"] for c in self.comments.get(number, []) if c["id"] not in self.human_comments]

    # -- serving ------------------------------------------------------------------------

    def _respond(self, method: str, template: str, groups: tuple[str, ...], body: Any,
                 params: dict[str, str]) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        handler = getattr(self, "_" + re.sub(r"\W+", "_", f"{method} {template}").strip("_").lower(), None)
        if handler is None:
            return super()._respond(method, template, groups, body, params)
        return handler(template, groups, body, params)  # type: ignore[no-any-return]

    def _get_repos_owner_repo(self, t, g, body, params):
        status, headers, data = super()._respond("GET", t, g, body, params)
        data["default_branch"] = self.default_branch
        return status, headers, data

    def _not_found(self) -> tuple[int, dict[str, str], Any]:
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def _get_repos_owner_repo_collaborators_username_permission(self, t, g, body, params):
        role = self.roles.get(g[2])
        if role is None:
            return self._not_found()
        data = example(t, "get", "200")
        data["role_name"] = role
        data["permission"] = {"maintain": "write", "triage": "read"}.get(role, role)
        data["user"]["login"] = g[2]
        return 200, {}, data

    def _get_orgs_org_teams_team_slug_memberships_username(self, t, g, body, params):
        if g[2] not in self.team_members.get(f"{g[0]}/{g[1]}", set()):
            return self._not_found()
        data = example(t, "get", "200")
        data["state"] = "active"
        return 200, {}, data

    def _pull_json(self, number: int) -> dict[str, Any]:
        pull = self.pulls[number]
        data = example("/repos/{owner}/{repo}/pulls/{pull_number}", "get", "200")
        owner = self.repository.split("/")[0]
        data.update(number=number, state=pull["state"], merged=pull["merged"], title=pull["title"], body=pull["body"],
                    url=f"{self.url}/repos/{self.repository}/pulls/{number}",
                    issue_url=f"{self.url}/repos/{self.repository}/issues/{number}")  # fmt: skip
        data["user"]["login"] = pull["user"]
        data["requested_teams"] = []
        data["head"].update(sha=pull["head_sha"], ref=pull["head_ref"], label=f"{owner}:{pull['head_ref']}")
        data["base"].update(ref=pull["base_ref"], sha=self.branches.get(pull["base_ref"], "0" * 40))
        data["base"]["repo"]["full_name"] = self.repository
        data["head"]["repo"]["full_name"] = "someone/fork" if pull["fork"] else self.repository
        return data

    def _get_repos_owner_repo_pulls_pull_number(self, t, g, body, params):
        number = int(g[2])
        return (200, {}, self._pull_json(number)) if number in self.pulls else self._not_found()

    def _patch_repos_owner_repo_pulls_pull_number(self, t, g, body, params):
        pull = self.pulls[int(g[2])]
        for key in ("title", "body", "state"):
            if key in body:
                pull[key] = body[key]
        return 200, {}, self._pull_json(int(g[2]))

    def _get_repos_owner_repo_pulls(self, t, g, body, params):
        head = unquote(params.get("head", ""))
        found = [self._pull_json(n) for n, p in sorted(self.pulls.items())
                 if p["state"] == params.get("state", "open")
                 and (not head or head == f"{self.repository.split('/')[0]}:{p['head_ref']}")]  # fmt: skip
        return 200, {}, found

    def _post_repos_owner_repo_pulls(self, t, g, body, params):
        number = max([*self.pulls, *self.comments, 0]) + 1
        self.pulls[number] = {"head_sha": self.branches[body["head"]], "head_ref": body["head"], "base_ref": body["base"],
                              "fork": False, "merged": False, "user": "mlpipex[bot]", "state": "open",
                              "title": body["title"], "body": body.get("body", "")}  # fmt: skip
        data = self._pull_json(number)
        return 201, {}, data

    def _get_repos_owner_repo_pulls_pull_number_reviews(self, t, g, body, params):
        reviews = []
        for i, review in enumerate(self.reviews.get(int(g[2]), [])):
            data = example(t, "get", "200")[0] if example(t, "get", "200") else {}
            data.update(id=i + 1, state=review["state"], commit_id=review["commit_id"])
            data["user"]["login"] = review["login"]
            reviews.append(data)
        return 200, {}, reviews

    def _get_repos_owner_repo_commits_ref(self, t, g, body, params):
        data = example(t, "get", "200")
        data["sha"] = g[2]
        data["url"] = f"{self.url}/repos/{self.repository}/commits/{g[2]}"
        return 200, {}, data

    def _get_repos_owner_repo_commits_ref_check_runs(self, t, g, body, params):
        wanted = unquote(params.get("check_name", "")).replace("+", " ")
        runs = [r for r in self.check_runs.values() if r["head_sha"] == g[2] and (not wanted or r["name"] == wanted)]
        return 200, {}, {"total_count": len(runs), "check_runs": runs}

    def _commit_of(self, ref: str) -> str | None:
        ref = unquote(ref)
        return self.branches.get(ref) or (ref if ref in self.files else None)

    def _get_repos_owner_repo_git_trees_tree_sha(self, t, g, body, params):
        sha = self._commit_of(g[2])
        if sha is None:
            return self._not_found()
        data = example(t, "get", "200")
        data.update(sha=sha, url=f"{self.url}/repos/{self.repository}/git/trees/{sha}", truncated=False)
        data["tree"] = [{"path": path, "mode": "100644", "type": "blob", "sha": _sha(text), "size": len(text),
                         "url": f"{self.url}/repos/{self.repository}/git/blobs/{_sha(text)}"}
                        for path, text in sorted(self.files[sha].items())]  # fmt: skip
        return 200, {}, data

    def _content_json(self, path: str, text: str) -> dict[str, Any]:
        data = example("/repos/{owner}/{repo}/contents/{path}", "get", "200", "response-if-content-is-a-file")
        if isinstance(data, list):
            data = data[0]
        data.update(type="file", encoding="base64", path=path, name=path.rsplit("/", 1)[-1], sha=_sha(text),
                    size=len(text), content=base64.b64encode(text.encode()).decode(),
                    url=f"{self.url}/repos/{self.repository}/contents/{path}")  # fmt: skip
        return data

    def _get_repos_owner_repo_contents_path(self, t, g, body, params):
        sha = self._commit_of(params.get("ref", self.default_branch))
        path = unquote(g[2])
        if sha is None or path not in self.files[sha]:
            return self._not_found()
        return 200, {}, self._content_json(path, self.files[sha][path])

    def _put_repos_owner_repo_contents_path(self, t, g, body, params):
        path, branch = unquote(g[2]), body.get("branch", self.default_branch)
        current = self.files.get(self.branches.get(branch, ""), {})
        if path in current and body.get("sha") != _sha(current[path]):
            return 409, {}, {"message": f"{path} does not match {body.get('sha')}", "documentation_url": "https://docs.github.com/rest"}
        self.commit(branch, {path: base64.b64decode(body["content"]).decode()})
        status = 200 if path in current else 201
        data = example(t, "put", str(status))
        data["content"] = self._content_json(path, self.files[self.branches[branch]][path])
        data["commit"]["sha"] = self.branches[branch]
        return status, {}, data

    def _get_repos_owner_repo_branches_branch(self, t, g, body, params):
        sha = self.branches.get(unquote(g[2]))
        if sha is None:
            return self._not_found()
        data = example(t, "get", "200")
        data["name"] = unquote(g[2])
        data["commit"]["sha"] = sha
        return 200, {}, data

    def _get_repos_owner_repo_git_ref_ref(self, t, g, body, params):
        ref = unquote(g[2])
        sha = self.branches.get(ref.removeprefix("heads/"))
        if not ref.startswith("heads/") or sha is None:
            return self._not_found()
        data = example(t, "get", "200")
        data.update(ref=f"refs/{ref}", url=f"{self.url}/repos/{self.repository}/git/refs/{ref}")
        data["object"]["sha"] = sha
        return 200, {}, data

    def _post_repos_owner_repo_git_refs(self, t, g, body, params):
        branch = body["ref"].removeprefix("refs/heads/")
        if branch in self.branches:
            return 422, {}, {"message": "Reference already exists", "documentation_url": "https://docs.github.com/rest"}
        self.branches[branch] = body["sha"]
        data = example(t, "post", "201")
        data.update(ref=body["ref"], url=f"{self.url}/repos/{self.repository}/git/{body['ref']}")
        data["object"]["sha"] = body["sha"]
        return 201, {}, data

    def _get_repos_owner_repo_issues_comments_comment_id(self, t, g, body, params):
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == int(g[2]):
                    comment["url"] = f"{self.url}/repos/{self.repository}/issues/comments/{comment['id']}"
                    return 200, {}, comment
        return self._not_found()

    def _post_repos_owner_repo_issues_comments_comment_id_reactions(self, t, g, body, params):
        self.reactions.setdefault(int(g[2]), []).append(body["content"])
        data = example(t, "post", "201")
        data["content"] = body["content"]
        return 201, {}, data

    def _post_repos_owner_repo_issues_issue_number_labels(self, t, g, body, params):
        names = body["labels"] if isinstance(body, dict) else body
        labels = self.labels.setdefault(int(g[2]), [])
        labels.extend(n for n in names if n not in labels)
        template = example(t, "post", "200")
        return 200, {}, [{**(template[0] if template else {}), "name": n} for n in labels]

    def _post_repos_owner_repo_deployments(self, t, g, body, params):
        data = example(t, "post", "201")
        deployment = {"id": self._id(), **body, "statuses": []}
        self.deployments.append(deployment)
        data.update(id=deployment["id"], ref=body["ref"], sha=body["ref"], environment=body.get("environment", "production"),
                    url=f"{self.url}/repos/{self.repository}/deployments/{deployment['id']}",
                    statuses_url=f"{self.url}/repos/{self.repository}/deployments/{deployment['id']}/statuses")  # fmt: skip
        return 201, {}, data

    def _post_repos_owner_repo_deployments_deployment_id_statuses(self, t, g, body, params):
        deployment = next(d for d in self.deployments if d["id"] == int(g[2]))
        deployment["statuses"].append(body)
        data = example(t, "post", "201")
        data["state"] = body["state"]
        return 201, {}, data
