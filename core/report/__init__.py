"""Reports of a gate run: report.json, report.md (with mermaid charts), junit.xml, console.

Pure renderers from a :class:`~mlpipex.gates.result.Report` to text, plus
:func:`write_reports`, which puts the three files in a directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from mlpipex.errors import InputError
from mlpipex.gates.result import Report
from mlpipex.report._charts import xychart
from mlpipex.report._console import render_console
from mlpipex.report._deploy import render_deploy_markdown
from mlpipex.report._json import render_json
from mlpipex.report._junit import render_junit
from mlpipex.report._markdown import marker_for, render_markdown
from mlpipex.report._numbers import plain, significant
from mlpipex.report._text import cell, mermaid_label, mermaid_text

__all__ = [
    "SCHEMA_PATH",
    "ReportPaths",
    "cell",
    "marker_for",
    "mermaid_label",
    "mermaid_text",
    "plain",
    "render_console",
    "render_deploy_markdown",
    "render_json",
    "render_junit",
    "render_markdown",
    "significant",
    "write_reports",
    "xychart",
]

#: JSON Schema (draft 2020-12) of report.json, shipped with the package.
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    markdown: Path
    junit: Path
    #: the step summary the markdown was appended to; None when not asked or not writable
    step_summary: Path | None = None


def write_reports(report: Report, directory: Path, *, step_summary: Path | None = None) -> ReportPaths:
    """Write report.json, report.md and junit.xml into ``directory`` (created if needed).

    With ``step_summary`` (the CLI passes ``$GITHUB_STEP_SUMMARY``) the markdown is also
    appended to that file; that is a courtesy, so a failure there does not raise
    (``ReportPaths.step_summary`` is then None). Each report is written to a temporary file and renamed, so
    a crash never leaves half a report behind.
    """
    paths = ReportPaths(directory / "report.json", directory / "report.md", directory / "junit.xml")
    markdown = render_markdown(report)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write(paths.json, render_json(report))
        _write(paths.markdown, markdown)
        _write(paths.junit, render_junit(report))
    except OSError as exc:
        raise InputError(f"cannot write reports to {directory}: {exc.strerror or exc}",
                         fix="pass a writable --report-dir") from None  # fmt: skip
    if step_summary is not None:
        try:
            with step_summary.open("a", encoding="utf-8", errors="replace") as handle:
                handle.write(markdown + "\n")
        except OSError:
            return paths
        return replace(paths, step_summary=step_summary)
    return paths


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", errors="replace")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
