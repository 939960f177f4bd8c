"""One exception tree for everything mlpipex reports to a user.

Every error carries the exit code the CLI returns for it and, where it can, the
place (file, line, column, field) and a fix. The CLI prints ``str(error)``; it
never prints a traceback for an ``MlpipexError``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_EXTERNAL",
    "EXIT_GATE_FAILED",
    "EXIT_OK",
    "ConfigError",
    "ExternalError",
    "InputError",
    "Location",
    "MlpipexError",
]

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_EXTERNAL = 3


@dataclass(frozen=True)
class Location:
    """A place in a user's file: ``path:line:column`` (1-based), any part optional."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class MlpipexError(Exception):
    """Base of every error mlpipex reports to a user."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self, message: str, *, location: Location | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    @property
    def fix_suffix(self) -> str:
        """`` (fix: …)`` on one line, for the one-line replies (App comments, check runs, warnings); "" without a fix."""
        return f" (fix: {' '.join(self.fix.split())})" if self.fix else ""


class ConfigError(MlpipexError):
    """mlpipex.yaml is unreadable or invalid. ``problems`` holds every problem found."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        fix: str | None = None,
        problems: list[MlpipexError] | None = None,
    ) -> None:
        super().__init__(message, location=location, fix=fix)
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        lines = [self.message]
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)


class InputError(MlpipexError):
    """A model file, holdout set or other input is missing or malformed."""

    exit_code = EXIT_BAD_INPUT


class ExternalError(MlpipexError):
    """An outside system (registry, GitHub, Kubernetes, a subprocess) failed."""

    exit_code = EXIT_EXTERNAL
