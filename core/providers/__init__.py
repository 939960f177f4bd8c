"""CI/forge adapters behind one Protocol, chosen from the environment or ``--provider``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mlpipex.errors import InputError
from mlpipex.providers._base import CiContext, DeployEvent, Provider, Published

__all__ = ["PROVIDERS", "CiContext", "DeployEvent", "Provider", "Published", "detect", "provider_for"]

PROVIDERS = ("github", "gitlab", "jenkins", "local")


def detect(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    if env.get("JENKINS_URL"):
        return "jenkins"
    return "local"


def provider_for(name: str | None = None, *, environ: Mapping[str, str] | None = None, strict: bool = False) -> Provider:
    chosen = name or detect(environ)
    if chosen == "github":
        from mlpipex.providers.github import GitHubProvider

        return GitHubProvider(environ, strict=strict)
    if chosen == "gitlab":
        from mlpipex.providers.gitlab import GitLabProvider

        return GitLabProvider(environ, strict=strict)
    if chosen == "jenkins":
        from mlpipex.providers.jenkins import JenkinsProvider

        return JenkinsProvider(environ, strict=strict)
    if chosen == "local":
        from mlpipex.providers.local import LocalProvider

        return LocalProvider(environ)
    raise InputError(f"unknown provider `{chosen}`", fix=f"use one of: {', '.join(PROVIDERS)}")
