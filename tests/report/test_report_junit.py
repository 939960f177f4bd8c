"""junit.xml: one test case per gate, well-formed whatever the messages hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from _report_fixtures import (
    every_status,
    failing_report,
    latency_gate,
    make_report,
    passing_report,
)

from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.report import render_junit


def _suite(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "mlpipex"
    return suite


def _counts(element: ET.Element) -> tuple[str | None, ...]:
    return tuple(element.get(k) for k in ("tests", "failures", "errors", "skipped"))


def test_counts_in_the_suite_and_the_root() -> None:
    xml = render_junit(every_status())
    suite = _suite(xml)
    assert _counts(suite) == ("6", "1", "1", "1") == _counts(ET.fromstring(xml))
    assert suite.get("time") == "1.260" and suite.get("timestamp") == "2026-11-28T18:00:00+00:00"
    assert _counts(_suite(render_junit(passing_report()))) == ("6", "0", "0", "0")


def test_one_testcase_per_gate_with_its_time() -> None:
    suite = _suite(render_junit(failing_report()))
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["schema", "unit", "smoke", "latency", "compare", "skew"]
    assert {c.get("classname") for c in cases} == {"mlpipex.gates"}
    assert cases[1].get("time") == "0.976"


def test_each_status_maps_to_its_element() -> None:
    cases = {c.get("name"): c for c in _suite(render_junit(every_status())).iter("testcase")}
    failure = cases["unit"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("2 of 13 tests failed")
    assert "failures: 2  (threshold == 0)  fail" in (failure.text or "")
    error = cases["skew"].find("error")
    assert error is not None and error.get("message") == "holdout has no score_column: set data.score_column"
    assert "exit code 2" in (error.text or "")
    skipped = cases["compare"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("no baseline configured")
    warned = cases["latency"]
    assert [child.tag for child in warned] == ["system-out"]  # a warning passes
    assert (warned.findtext("system-out") or "").startswith("WARNING: too close to call")
    passed = cases["schema"]
    assert [child.tag for child in passed] == ["system-out"]


def test_failure_body_lists_measurements_with_intervals() -> None:
    cases = {c.get("name"): c for c in _suite(render_junit(failing_report())).iter("testcase")}
    body = cases["latency"].findtext("failure") or ""
    assert "p99 [batch=1]: 31.4 ms (95% CI 27.5–51.5)  (threshold <= 10 ms)  fail" in body


def test_hostile_messages_stay_well_formed_and_readable() -> None:
    xml = render_junit(every_status())
    case = next(c for c in _suite(xml).iter("testcase") if c.get("name") == "custom-gate")
    out = case.findtext("system-out") or ""
    assert "<script>alert(1)</script> ]]> [x](javascript:y)" in out  # escaped in XML, intact once parsed
    assert "\x00" not in xml and "\x07" not in xml and "\x1b" not in xml


def test_characters_xml_cannot_hold_are_removed() -> None:
    nasty = "bad \x00\x01\x08\x0b\x0c\x1b\x7f\udcff\ufffe end ]]> & \"quotes\" 'q'"
    gate = GateResult(nasty, Status.FAIL, nasty, [Measurement(nasty, nasty, threshold=nasty)])
    xml = render_junit(make_report(gate))
    xml.encode("utf-8")  # lone surrogates would raise
    case = _suite(xml).find("testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "bad  end ]]> & \"quotes\" 'q'"
    assert case.get("name") == "bad  end ]]> & \"quotes\" 'q'"


def test_long_messages_are_capped_in_attributes() -> None:
    gate = GateResult("unit", Status.FAIL, "m" * 50_000)
    failure = _suite(render_junit(make_report(gate))).find("testcase/failure")
    assert failure is not None and len(failure.get("message", "")) == 1000


def test_properties_name_the_model_and_verdict() -> None:
    properties = {p.get("name"): p.get("value") for p in _suite(render_junit(make_report(latency_gate()))).iter("property")}
    assert properties["model"] == "breast-cancer@1.1.0"
    assert properties["verdict"] == "pass" and properties["exit_code"] == "0"


def test_no_gates_is_an_empty_suite() -> None:
    suite = _suite(render_junit(make_report()))
    assert _counts(suite) == ("0", "0", "0", "0") and suite.findall("testcase") == []


def test_times_are_never_nan_or_negative() -> None:
    gates = [GateResult("a", Status.PASS, "x", duration_s=float("nan")), GateResult("b", Status.PASS, "y", duration_s=-1.0)]
    suite = _suite(render_junit(make_report(*gates)))
    assert [c.get("time") for c in suite.iter("testcase")] == ["0.000", "0.000"]
