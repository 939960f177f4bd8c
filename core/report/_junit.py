"""junit.xml: one test case per gate, so every CI shows gates where it shows tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mlpipex.gates.result import GateResult, Report, Status
from mlpipex.report._format import measured, strip_control


def _body(result: GateResult) -> str:
    lines = [strip_control(result.message)]
    for m in result.measurements:
        group = f" [{m.group}]" if m.group else ""
        threshold = f" (threshold {m.threshold})" if m.threshold else ""
        status = f" {m.status.value}" if m.status else ""
        lines.append(f"{m.name}{group}: {measured(m)}{threshold}{status}")
    return strip_control("\n".join(lines))


def render_junit(report: Report) -> str:
    counts = {s: sum(1 for g in report.gates if g.status is s) for s in Status}
    suite = ET.Element(
        "testsuite",
        name="mlpipex",
        tests=str(len(report.gates)),
        failures=str(counts[Status.FAIL]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.SKIP]),
        time=f"{report.duration_s:.3f}",
        timestamp=report.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("model", f"{report.model.name}@{report.model.version}"),
                        ("sha256", report.model.sha256 or ""), ("verdict", report.verdict.value)):  # fmt: skip
        ET.SubElement(properties, "property", name=name, value=strip_control(value))
    for result in report.gates:
        case = ET.SubElement(suite, "testcase", classname="mlpipex.gates", name=result.gate,
                             time=f"{result.duration_s:.3f}")  # fmt: skip
        message = strip_control(result.message)[:1000]
        if result.status is Status.FAIL:
            ET.SubElement(case, "failure", message=message, type="GateFailed").text = _body(result)
        elif result.status is Status.ERROR:
            ET.SubElement(case, "error", message=message, type="GateError").text = _body(result)
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = (
                ("WARNING: " if result.status is Status.WARN else "") + _body(result)
            )
    root = ET.Element("testsuites", name="mlpipex", tests=suite.get("tests", "0"),
                      failures=suite.get("failures", "0"), errors=suite.get("errors", "0"))  # fmt: skip
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
