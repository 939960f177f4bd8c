"""The data every gate returns and the report that collects them.

Plain dataclasses: gates build them, reports render them, the CLI turns the
report's verdict into an exit code. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from mlpipex.errors import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OK

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "GateResult",
    "Measurement",
    "ModelInfo",
    "Report",
    "Status",
]

REPORT_SCHEMA_VERSION = "1.1"


class Status(str, enum.Enum):
    """Outcome of one gate, one measurement, or the whole run."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def icon(self) -> str:
        return _ICONS[self]


_ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
    Status.SKIP: "⏭️",
    Status.ERROR: "💥",
}


@dataclass
class Measurement:
    """One measured value, with the threshold it was judged against.

    ``group`` separates repeated names (the latency gate measures ``p95`` once per
    ``batch=N`` group). ``ci_low``/``ci_high`` bound a confidence interval when the
    value is an estimate; ``baseline`` holds the deployed model's value when the
    measurement compares two models. ``limit`` is the bound of an upper-bounded
    threshold as a number (the latency SLA in ms), so readers need not parse
    ``threshold``, which is for people.
    """

    name: str
    value: float | int | str | None
    unit: str = ""
    threshold: str | None = None
    status: Status | None = None
    group: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    baseline: float | None = None
    limit: float | None = None


@dataclass
class GateResult:
    """What one gate decided and why.

    ``message`` is one human line. ``details`` carries gate-specific data for the
    report (documented by each gate); it must be JSON-serialisable.
    ``error_exit_code`` says, for status ``error``, whether bad input (2) or an
    outside system (3) stopped the gate.
    """

    gate: str
    status: Status
    message: str
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    error_exit_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for m in data["measurements"]:
            if m["status"] is not None:
                m["status"] = Status(m["status"]).value
        return data


@dataclass
class ModelInfo:
    name: str
    version: str
    path: str
    format: str = "onnx"
    sha256: str | None = None
    size_bytes: int | None = None
    artifact: str | None = None  # REGISTRY/REPOSITORY@sha256:… of a baseline pulled from a registry
    requested: str | None = None  # the baseline.artifact it was resolved from (a tag)
    environment: str | None = None  # baseline.environment: where the baseline serves
    serving: str | None = None  # stable or canary
    deployed_at: str | None = None  # when it began to serve there; None: unknown
    deployed_from: str | None = None  # how that time is known
    notes: list[str] = field(default_factory=list)  # what the user should know of the choice (canary asked, none running)


@dataclass
class Report:
    """Everything one ``mlpipex gate`` run found. Serialised as report.json."""

    model: ModelInfo
    gates: list[GateResult]
    started_at: str
    duration_s: float
    environment: dict[str, str]
    config_path: str
    baseline: ModelInfo | None = None
    fail_on: Status = Status.FAIL
    schema_version: str = REPORT_SCHEMA_VERSION

    @property
    def verdict(self) -> Status:
        """fail beats error beats warn beats pass; skipped gates do not count."""
        statuses = {g.status for g in self.gates}
        for status in (Status.FAIL, Status.ERROR, Status.WARN):
            if status in statuses:
                return status
        return Status.PASS

    @property
    def exit_code(self) -> int:
        verdict = self.verdict
        if verdict is Status.FAIL:
            return EXIT_GATE_FAILED
        if verdict is Status.ERROR:
            codes = [g.error_exit_code or EXIT_BAD_INPUT for g in self.gates if g.status is Status.ERROR]
            return max(codes)
        if verdict is Status.WARN and self.fail_on is Status.WARN:
            return EXIT_GATE_FAILED
        return EXIT_OK

    def gate(self, name: str) -> GateResult | None:
        return next((g for g in self.gates if g.gate == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "fail_on": self.fail_on.value,
            "model": asdict(self.model),
            "baseline": asdict(self.baseline) if self.baseline else None,
            "config_path": self.config_path,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "environment": dict(self.environment),
            "gates": [g.to_dict() for g in self.gates],
        }
