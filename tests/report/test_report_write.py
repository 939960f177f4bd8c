"""write_reports: the three files on disk, and the GitHub job summary."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _report_fixtures import failing_report, passing_report

from mlpipex.errors import InputError
from mlpipex.gates.result import GateResult, Status
from mlpipex.report import ReportPaths, render_markdown, write_reports


def test_writes_the_three_reports(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "report"
    paths = write_reports(failing_report(), out)
    assert paths == ReportPaths(out / "report.json", out / "report.md", out / "junit.xml")
    assert json.loads(paths.json.read_text(encoding="utf-8"))["verdict"] == "fail"
    assert paths.markdown.read_text(encoding="utf-8") == render_markdown(failing_report())
    assert ET.parse(paths.junit).getroot().find("testsuite") is not None
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.json", "report.md"]  # no temp files


def test_appends_to_the_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    write_reports(passing_report(), tmp_path / "a", step_summary=summary)
    paths = write_reports(failing_report(), tmp_path / "b", step_summary=summary)
    assert paths.step_summary == summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert text.count("<!-- mlpipex:report model=breast-cancer -->") == 2
    assert paths.markdown.read_text(encoding="utf-8") in text


def test_an_unwritable_step_summary_does_not_lose_the_reports(tmp_path: Path) -> None:
    paths = write_reports(passing_report(), tmp_path / "out", step_summary=tmp_path / "missing-dir" / "summary.md")
    assert paths.step_summary is None and paths.json.exists()


def test_an_unwritable_report_dir_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write reports") as info:
        write_reports(passing_report(), blocker / "report")
    assert info.value.fix == "pass a writable --report-dir"


def test_undecodable_text_does_not_break_writing(tmp_path: Path) -> None:
    report = passing_report()
    report.gates.append(GateResult("unit", Status.FAIL, "output \udcff\udcfe", details={"output_tail": "\udcff"}))
    paths = write_reports(report, tmp_path)
    for path in (paths.json, paths.markdown, paths.junit):
        path.read_text(encoding="utf-8")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_dir_is_a_user_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(InputError):
            write_reports(passing_report(), tmp_path)
    finally:
        tmp_path.chmod(0o700)
