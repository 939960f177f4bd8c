"""Jenkins: the build runs in Jenkins, the results go to the GitHub pull request.

The same check run and sticky comment as the GitHub provider, with the context read
from what Jenkins' GitHub Branch Source sets (``CHANGE_ID``, ``CHANGE_URL``,
``CHANGE_FORK``, ``GIT_COMMIT``, ``GIT_URL``, ``BUILD_URL``) and the token from the
``withCredentials`` binding of a GitHub App credential (``GITHUB_TOKEN``). Outputs
go to the dotenv file the library reads back (``MLPIPEX_OUTPUTS``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from mlpipex.providers._base import CiContext
from mlpipex.providers.github import GitHubProvider
from mlpipex.providers.local import LocalProvider

__all__ = ["JenkinsProvider", "jenkins_context", "repository_of"]

# https://github.com/o/r(.git), git@github.com:o/r(.git), ssh://git@host/o/r, …/o/r/pull/5
_REMOTE = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>[^?#]+?)(?:\.git)?/?$")


def repository_of(url: str | None) -> tuple[str, str] | None:
    """(host, "owner/name") of a git remote or pull-request URL; None when it is neither."""
    if not url:
        return None
    match = _REMOTE.match(url.strip())
    if not match:
        return None
    parts = match["path"].split("/")
    if len(parts) >= 4 and parts[2] == "pull":
        parts = parts[:2]
    if len(parts) != 2 or not all(parts):
        return None
    return match["host"], "/".join(parts)


def jenkins_context(env: Mapping[str, str]) -> tuple[CiContext, str | None]:
    """The build's context, and the GitHub API URL of the repository's host."""
    found = repository_of(env.get("CHANGE_URL")) or repository_of(env.get("GIT_URL"))
    change = env.get("CHANGE_ID", "")
    api = env.get("MLPIPEX_GITHUB_API_URL") or env.get("GITHUB_API_URL")
    if not api and found:
        api = "https://api.github.com" if found[0] == "github.com" else f"https://{found[0]}/api/v3"
    context = CiContext(
        provider="jenkins",
        repository=found[1] if found else None,
        change=int(change) if change.isdigit() else None,
        # Jenkins may build a merge of the PR into its target; MLPIPEX_SHA names the head instead.
        sha=env.get("MLPIPEX_SHA") or env.get("GIT_COMMIT"),
        branch=env.get("CHANGE_BRANCH") or env.get("BRANCH_NAME") or env.get("GIT_BRANCH"),
        run_url=env.get("BUILD_URL"),
        fork=bool(env.get("CHANGE_FORK")),
    )
    return context, api


class JenkinsProvider(GitHubProvider):
    name = "jenkins"
    fallback_place = "archived reports"

    def __init__(self, environ: Mapping[str, str] | None = None, *, strict: bool = False, **kwargs: object) -> None:
        env = dict(os.environ if environ is None else environ)
        context, api = jenkins_context(env)
        super().__init__(env, strict=strict, context=context, api_url=api, **kwargs)

    def summary_note(self) -> str:
        return " (the build's archived report.md has it)"

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        LocalProvider(self.env).write_outputs(outputs)
