"""Reports of a gate run: report.json, report.md (with mermaid charts), junit.xml, console."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlpipex.errors import InputError
from mlpipex.gates.result import Report
from mlpipex.report._console import render_console
from mlpipex.report._json import render_json
from mlpipex.report._junit import render_junit
from mlpipex.report._markdown import marker_for, render_markdown

__all__ = [
    "ReportPaths",
    "marker_for",
    "render_console",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
]


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    markdown: Path
    junit: Path


def write_reports(report: Report, directory: Path, *, step_summary: Path | None = None) -> ReportPaths:
    """Write the three reports; append the markdown to ``step_summary`` (GitHub's job summary)."""
    paths = ReportPaths(directory / "report.json", directory / "report.md", directory / "junit.xml")
    markdown = render_markdown(report)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write(paths.json, render_json(report))
        _write(paths.markdown, markdown)
        _write(paths.junit, render_junit(report))
    except OSError as exc:
        raise InputError(f"cannot write reports to {directory}: {exc.strerror}",
                         fix="pass a writable --report-dir") from None  # fmt: skip
    if step_summary is not None:
        try:
            with step_summary.open("a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
        except OSError:
            pass  # the job summary is a courtesy; the reports on disk are what count
    return paths


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a crash never leaves half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
