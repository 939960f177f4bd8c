"""junit.xml: one test case per gate, so every CI shows gates where it shows tests.

Built with ElementTree, which escapes markup; characters XML 1.0 cannot hold at all
(control characters, lone surrogates) are stripped first, so the file parses
whatever the gate messages contain.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from mlpipex.gates.result import GateResult, Report, Status
from mlpipex.report._numbers import interval
from mlpipex.report._text import strip_control

MESSAGE_LIMIT = 1000
BODY_LIMIT = 20_000


def _seconds(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) and value > 0 else "0.000"


def _body(result: GateResult) -> str:
    lines = [result.message]
    confidence = result.details.get("confidence")
    level = float(confidence) if isinstance(confidence, (int, float)) else None
    for m in result.measurements:
        group = f" [{m.group}]" if m.group else ""
        threshold = f"  (threshold {m.threshold})" if m.threshold else ""
        status = f"  {m.status.value}" if m.status else ""
        lines.append(f"{m.name}{group}: {interval(m, level)}{threshold}{status}")
    if result.error_exit_code is not None:
        lines.append(f"exit code {result.error_exit_code}")
    return strip_control("\n".join(lines))[:BODY_LIMIT]


def _case(suite: ET.Element, result: GateResult) -> None:
    case = ET.SubElement(suite, "testcase", classname="mlpipex.gates", name=strip_control(result.gate),
                         time=_seconds(result.duration_s))  # fmt: skip
    message = strip_control(result.message)[:MESSAGE_LIMIT]
    if result.status is Status.FAIL:
        ET.SubElement(case, "failure", message=message, type="GateFailed").text = _body(result)
    elif result.status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type="GateError").text = _body(result)
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=message)
    else:  # pass and warn are successes; a warning is reported in the output
        prefix = "WARNING: " if result.status is Status.WARN else ""
        ET.SubElement(case, "system-out").text = prefix + _body(result)


def _deployed_properties(report: Report) -> list[tuple[str, str]]:
    """Where the baseline serves and since when, and what is known of it in production (production_*:
    not measured on the holdout; its package's recorded metrics and the monitor's live window)."""
    base = report.baseline
    found: list[tuple[str, str]] = []
    if base is not None and base.environment:
        found += [("baseline_environment", f"{base.environment} ({base.serving or 'stable'})"),
                  ("baseline_deployed_at", base.deployed_at or "unknown")]  # fmt: skip
    compare = report.gate("compare")
    production = compare.details.get("production") if compare else None
    if not isinstance(production, dict):
        return found
    recorded: dict[str, Any] = _as_dict(production.get("recorded"))
    for name, value in (recorded.get("metrics") or {}).items():
        found.append((f"production_recorded_{name}", _value(value)))
    live: dict[str, Any] | None = _as_dict(production.get("live")) or None
    if live is not None:
        found.append(("production_live_window", str(live.get("window"))))
        for p, value in (live.get("latency_ms") or {}).items():
            found.append((f"production_live_latency_{p}_ms", _value(value)))
        if live.get("error_rate") is not None:
            found.append(("production_live_error_rate", _value(live["error_rate"])))
        for name, value in (live.get("quality") or {}).items():
            found.append((f"production_live_{name}", _value(value)))
    notes = production.get("notes")
    if isinstance(notes, list) and notes:
        found.append(("production_notes", "; ".join(str(n) for n in notes)[:MESSAGE_LIMIT]))
    return found


def _value(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render_junit(report: Report) -> str:
    counts = {s: sum(1 for g in report.gates if g.status is s) for s in Status}
    attributes = {
        "tests": str(len(report.gates)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": _seconds(report.duration_s),
    }
    root = ET.Element("testsuites", {"name": "mlpipex", **attributes})
    suite = ET.SubElement(root, "testsuite",
                          {"name": "mlpipex", **attributes, "timestamp": strip_control(report.started_at)})  # fmt: skip
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("model", f"{report.model.name}@{report.model.version}"),
        ("sha256", report.model.sha256 or ""),
        ("baseline", f"{report.baseline.name}@{report.baseline.version}" if report.baseline else ""),
        ("baseline_artifact", report.baseline.artifact or "" if report.baseline else ""),
        *_deployed_properties(report),
        ("verdict", report.verdict.value),
        ("exit_code", str(report.exit_code)),
    ):
        ET.SubElement(properties, "property", name=name, value=strip_control(value))
    for result in report.gates:
        _case(suite, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
