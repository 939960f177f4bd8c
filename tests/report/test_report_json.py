"""report.json: the payload of Report.to_dict(), valid JSON, valid against the shipped schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from _report_fixtures import (
    every_status,
    failing_report,
    make_report,
    passing_report,
    unknown_gates,
)

from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.report import SCHEMA_PATH, render_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "core" / "report" / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def test_the_schema_is_valid_draft_2020_12_and_shipped_with_the_package() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == SCHEMA


@pytest.mark.parametrize("build", [passing_report, failing_report, every_status, unknown_gates])
def test_reports_validate_and_round_trip(build: Any) -> None:
    report = build()
    text = render_json(report)
    data = json.loads(text)
    VALIDATOR.validate(data)
    assert data == json.loads(json.dumps(report.to_dict()))  # nothing added, lost or reordered
    assert list(data) == list(report.to_dict())  # insertion order, not sorted
    assert text.startswith('{\n  "schema_version": "1.1",\n  "verdict": ')  # indent 2


def test_verdict_and_exit_code_are_recorded() -> None:
    data = json.loads(render_json(failing_report()))
    assert (data["verdict"], data["exit_code"]) == ("fail", 1)
    data = json.loads(render_json(make_report(GateResult("skew", Status.ERROR, "x", error_exit_code=3))))
    assert (data["verdict"], data["exit_code"]) == ("error", 3)


def test_nan_and_infinity_become_null() -> None:
    report = make_report(GateResult(
        "smoke", Status.FAIL, "degenerate holdout",
        [Measurement("auc", float("nan"), ci_low=float("-inf"), ci_high=float("inf"), baseline=float("nan"))],
        details={"metrics": {"auc": float("nan"), "log_loss": float("inf")}},
    ))  # fmt: skip
    text = render_json(report)
    assert not re.search(r"NaN|Infinity", text)
    data = json.loads(text)
    measurement = data["gates"][0]["measurements"][0]
    assert [measurement[k] for k in ("value", "ci_low", "ci_high", "baseline")] == [None] * 4
    assert data["gates"][0]["details"]["metrics"] == {"auc": None, "log_loss": None}
    VALIDATOR.validate(data)


def test_numpy_values_and_undecodable_text_in_details_still_serialise() -> None:
    report = make_report(GateResult(
        "custom", Status.PASS, "bytes \udcff from a subprocess",
        details={"mean": np.float32(0.5), "counts": np.array([1, 2, 3]), "nan": np.float64("nan"),
                 "path": Path("models/model.onnx"), "status": Status.WARN, 7: "int key"},
    ))  # fmt: skip
    text = render_json(report)
    text.encode("utf-8")  # lone surrogates would raise here
    details = json.loads(text)["gates"][0]["details"]
    assert details == {"mean": 0.5, "counts": [1, 2, 3], "nan": None, "path": "models/model.onnx",
                       "status": "warn", "7": "int key"}  # fmt: skip
    assert json.loads(text)["gates"][0]["message"] == "bytes  from a subprocess"


def test_control_characters_are_kept_escaped_in_json() -> None:
    data = json.loads(render_json(every_status()))
    assert "\x00\x07" in data["gates"][5]["message"]  # report.json is the faithful record


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("verdict",), "maybe"),
        (("exit_code",), 7),
        (("schema_version",), "2.0"),
        (("model", "sha256"), "not-hex"),
        (("gates", 0, "status"), "passed"),
        (("gates", 0, "measurements", 0, "value"), [1, 2]),
        (("gates", 0, "duration_s"), -1),
        (("gates", 1, "details", "failed_tests"), "two tests"),
        (("gates", 3, "details", "confidence"), "95%"),
        (("gates", 4, "details", "baseline_metrics"), {"auc": "high"}),
    ],
)
def test_the_schema_rejects_broken_reports(path: tuple[Any, ...], value: Any) -> None:
    data = json.loads(render_json(failing_report()))
    VALIDATOR.validate(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def test_the_schema_rejects_a_report_without_gates() -> None:
    data = json.loads(render_json(passing_report()))
    del data["gates"]
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def test_a_minor_version_with_new_fields_still_validates() -> None:
    data = json.loads(render_json(passing_report()))
    data["schema_version"] = "1.3"
    data["git_sha"] = "abc"
    data["gates"][0]["new_field"] = {"x": 1}
    VALIDATOR.validate(data)


def _keys(data: dict[str, Any]) -> set[str]:
    keys = set(data) | set(data["model"])
    for gate in data["gates"]:
        keys |= set(gate) | set(gate["details"])
        for m in gate["measurements"]:
            keys |= set(m)
    return keys


def test_every_field_is_documented() -> None:
    docs = (ROOT / "docs" / "report-schema.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_0-9]+)`", docs))
    keys = _keys(json.loads(render_json(passing_report())))
    assert keys - documented == set()
    properties = set(SCHEMA["properties"])
    for name in ("model", "gate", "measurement"):
        properties |= set(SCHEMA["$defs"][name]["properties"])
    assert properties - documented == set()
