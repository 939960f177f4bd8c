"""The verdict and exit code of a whole run."""

from __future__ import annotations

import pytest

from mlpipex.errors import EXIT_BAD_INPUT, EXIT_EXTERNAL
from mlpipex.gates.result import GateResult, ModelInfo, Report, Status


def report(*statuses: Status, fail_on: Status = Status.FAIL, error_code: int | None = None) -> Report:
    gates = [GateResult(f"g{i}", s, "m", error_exit_code=error_code if s is Status.ERROR else None)
             for i, s in enumerate(statuses)]  # fmt: skip
    return Report(ModelInfo("m", "1", "m.onnx"), gates, "2026-01-01T00:00:00+00:00", 0.1, {}, "c.yaml",
                  fail_on=fail_on)  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "verdict", "code"),
    [
        ((Status.PASS, Status.PASS), Status.PASS, 0),
        ((Status.PASS, Status.SKIP), Status.PASS, 0),
        ((Status.PASS, Status.WARN), Status.WARN, 0),
        ((Status.WARN, Status.FAIL), Status.FAIL, 1),
        ((Status.ERROR, Status.FAIL), Status.FAIL, 1),
        ((Status.ERROR, Status.PASS), Status.ERROR, EXIT_BAD_INPUT),
    ],
)
def test_verdict_and_exit_code(statuses, verdict, code):
    run = report(*statuses)
    assert run.verdict is verdict and run.exit_code == code


def test_fail_on_warn_turns_warnings_into_failures():
    assert report(Status.PASS, Status.WARN, fail_on=Status.WARN).exit_code == 1
    assert report(Status.PASS, fail_on=Status.WARN).exit_code == 0


def test_outside_system_error_exits_3():
    assert report(Status.ERROR, error_code=EXIT_EXTERNAL).exit_code == EXIT_EXTERNAL


def test_to_dict_is_plain_data():
    data = report(Status.PASS, Status.FAIL).to_dict()
    assert data["verdict"] == "fail" and data["exit_code"] == 1
    assert data["gates"][1]["status"] == "fail"
