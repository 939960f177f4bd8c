"""The one interface every CI/forge adapter implements, and how one is chosen.

Like CML's drivers: one core, one adapter per provider behind the same methods,
picked from the environment (``GITHUB_ACTIONS``, ``GITLAB_CI``, ``JENKINS_URL``)
or ``--provider``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mlpipex.events import DeployEvent

if TYPE_CHECKING:  # the gates pull in pydantic and numpy: `mlpipex --help` must not wait for them
    from mlpipex.gates.result import Report

__all__ = ["CiContext", "DeployEvent", "Provider", "Published"]


@dataclass(frozen=True)
class CiContext:
    provider: str
    repository: str | None = None  # owner/name (GitHub), group/project (GitLab)
    change: int | None = None  # pull/merge request number
    sha: str | None = None
    branch: str | None = None
    run_url: str | None = None
    fork: bool = False  # the change comes from a fork: its token is read-only and it may never deploy


@dataclass(frozen=True)
class Published:
    """Where the report went, and what could not be done (warnings, not failures)."""

    places: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Provider(Protocol):
    name: str

    def context(self) -> CiContext: ...

    def started(self, model: str) -> None:
        """Gates are running for ``model`` (a check run in progress, a pending status)."""
        ...

    def publish(self, report: Report, markdown: str, *, config_path: str) -> Published:
        """The verdict where reviewers look: a check run and a sticky comment, an MR note, …"""
        ...

    def artifact_pushed(self, model: str, reference: str) -> Published:
        """The package that passed the gates is in a registry: link it to the gate result
        (on GitHub the check run's ``external_id``, which the App deploys on merge)."""
        ...

    def deployed(self, event: DeployEvent, markdown: str) -> Published:
        """Traffic moved (or failed to): a status on the commit where the forge has one."""
        ...

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        """Values later CI steps read (verdict, artifact, report path)."""
        ...
