"""One gate's section of report.md: a measurements table, a line of facts, and
collapsible extras built from the gate's ``details``.

Details are rendered defensively by key, not by gate name: a key is used only when
its value has the documented shape; whatever is left over is shown as JSON, so an
unknown gate renders with its measurements and its raw details.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipex.gates.result import GateResult, Status
from mlpipex.report._json import clean
from mlpipex.report._numbers import change, interval, number
from mlpipex.report._text import cell, code, fence, html

FAILED_TESTS_SHOWN = 50
CHECKS_SHOWN = 50
TENSORS_SHOWN = 30
WORST_ROWS_SHOWN = 20
LABELS_SHOWN = 12
TEXT_SHOWN = 4000
SUMMARY_CHARS = 200


@dataclass
class Extra:
    """A collapsible ``<details>`` block: the first thing dropped when space runs out."""

    summary: str  # HTML-escaped
    body: str  # markdown
    hidden: bool = False  # dropped to fit the size limit

    def size(self) -> int:
        return len(self.summary) + len(self.body) + 60  # plus the tags around them


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    omitted: int = 0

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.headers) + " |", "|" + "---|" * len(self.headers)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.omitted:
            lines.append(f"\n_… {self.omitted:,} more rows in report.json_")
        return "\n".join(lines)

    def limit(self, rows: int) -> int:
        """Keep the first ``rows`` rows; return how many were dropped now."""
        dropped = max(len(self.rows) - rows, 0)
        if dropped:
            self.rows = self.rows[:rows]
            self.omitted += dropped
        return dropped


@dataclass
class Section:
    gate: GateResult
    name: str  # HTML-escaped
    message: str  # HTML-escaped, one line
    open: bool
    facts: list[str] = field(default_factory=list)  # markdown fragments for one line
    table: Table | None = None
    extras: list[Extra] = field(default_factory=list)


def build_section(gate: GateResult, *, confidence: float | None) -> Section:
    details = gate.details if isinstance(gate.details, dict) else {}
    own = details.get("confidence")
    level = float(own) if isinstance(own, (int, float)) and not isinstance(own, bool) else confidence
    section = Section(
        gate=gate,
        name=html(gate.gate, 60),
        message=html(gate.message, SUMMARY_CHARS),
        open=gate.status in (Status.FAIL, Status.ERROR, Status.WARN),
        table=measurement_table(gate, level),
    )
    if gate.status is Status.ERROR:
        why = {2: "bad input", 3: "an outside system failed"}.get(gate.error_exit_code or 2, "error")
        section.facts.append(f"could not run: {why} (exit {gate.error_exit_code or 2})")
    if len(gate.message) > SUMMARY_CHARS or "\n" in gate.message.strip():
        section.extras.append(Extra("Full message", fence(gate.message, limit=TEXT_SHOWN)))
    used: set[str] = set()
    for render in _RENDERERS:
        render(details, section, used)
    rest = {k: v for k, v in details.items() if k not in used}
    if rest:
        text = json.dumps(clean(rest), indent=2, ensure_ascii=False)
        section.extras.append(Extra("Details", fence(text, "json", limit=TEXT_SHOWN)))
    return section


def measurement_table(gate: GateResult, confidence: float | None) -> Table | None:
    if not gate.measurements:
        return None
    with_baseline = any(m.baseline is not None for m in gate.measurements)
    headers = ["Measurement", "Value", *(["Baseline", "Change"] if with_baseline else []), "Threshold", "Status"]
    rows = []
    for m in gate.measurements:
        name = cell(m.name, 100) + (f" ({cell(m.group, 60)})" if m.group else "")
        row = [name, cell(interval(m, confidence), 200)]
        if with_baseline:
            row += [cell(number(m.baseline, m.unit)), cell(change(m))]
        row += [cell(m.threshold or "", 100), f"{m.status.icon} {m.status.value}" if m.status else ""]
        rows.append(row)
    return Table(headers, rows)


# --- details renderers: each takes the keys it understands -------------------------

Renderer = Callable[[dict[str, Any], Section, set[str]], None]


def _dicts(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    return None


def _more(shown: int, total: int, what: str) -> list[str]:
    return [f"- … and {total - shown:,} more {what} in report.json"] if total > shown else []


def _facts(d: dict[str, Any], section: Section, used: set[str]) -> None:
    facts = section.facts
    if isinstance(d.get("rows"), int):
        facts.append(f"{d['rows']:,} rows")
        used.add("rows")
    if isinstance(d.get("task"), str):
        facts.append(cell(d["task"], 40))
        used.add("task")
    timing = [f"{d['iterations']:,} timed runs" if isinstance(d.get("iterations"), int) else "",
              f"after {d['warmup']:,} warm-up" if isinstance(d.get("warmup"), int) else ""]  # fmt: skip
    if any(timing):
        facts.append(" ".join(t for t in timing if t))
        used.update({"iterations", "warmup"})
    samples = d.get("samples")
    if isinstance(samples, dict) and all(isinstance(v, int) for v in samples.values()):
        used.add("samples")
        if any(v != d.get("iterations") for v in samples.values()):
            facts.append("timed calls: " + ", ".join(f"batch {cell(k, 20)}: {v:,}" for k, v in samples.items()))
    if isinstance(d.get("threads"), int):
        facts.append(f"{d['threads']} thread{'s' if d['threads'] != 1 else ''}")
        used.add("threads")
    for key, label in (("providers", "providers"), ("skipped_providers", "not available here")):
        value = d.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            used.add(key)
            if value:
                facts.append(f"{label}: " + ", ".join(cell(v, 60) for v in value[:10]))
    confidence = d.get("confidence")
    if isinstance(confidence, (int, float)) and not isinstance(confidence, bool):
        facts.append(f"{float(confidence):.0%} confidence intervals")
        used.add("confidence")
    if isinstance(d.get("baseline_path"), str):
        facts.append(f"baseline {cell(d['baseline_path'], 200)}")
        used.add("baseline_path")
    if isinstance(d.get("exit_code"), int):
        facts.append(f"exit code {d['exit_code']}")
        used.add("exit_code")


def _failed_tests(d: dict[str, Any], section: Section, used: set[str]) -> None:
    tests = _dicts(d.get("failed_tests"))
    if tests is None:
        return
    used.add("failed_tests")
    if not tests:
        return
    lines = []
    for t in tests[:FAILED_TESTS_SHOWN]:
        message = cell(t.get("message") or "", 300)
        lines.append(f"- {code(t.get('name', '?'), 200)}" + (f": {message}" if message else ""))
    lines += _more(FAILED_TESTS_SHOWN, len(tests), "failed tests")
    section.extras.append(Extra(f"Failed tests ({len(tests):,})", "\n".join(lines)))


def _command(d: dict[str, Any], section: Section, used: set[str]) -> None:
    command = d.get("command")
    if isinstance(command, list) and command:
        used.add("command")
        section.extras.append(Extra("Command", fence(shlex.join(str(a) for a in command), "sh", limit=2000)))
    elif isinstance(command, str) and command:
        used.add("command")
        section.extras.append(Extra("Command", fence(command, "sh", limit=2000)))


def _output(d: dict[str, Any], section: Section, used: set[str]) -> None:
    if isinstance(d.get("output_tail"), str):
        used.add("output_tail")
        if d["output_tail"].strip():
            section.extras.append(Extra("Output (last lines)", fence(d["output_tail"], limit=TEXT_SHOWN)))


def _checks(d: dict[str, Any], section: Section, used: set[str]) -> None:
    checks = _dicts(d.get("checks"))
    if not checks:
        return
    used.add("checks")
    ordered = sorted(checks, key=lambda c: bool(c.get("ok")))  # failed checks first
    lines = [f"- {'✅' if c.get('ok') else '❌'} {cell(c.get('name', '?'), 100)}: {cell(c.get('message', ''), 300)}"
             for c in ordered[:CHECKS_SHOWN]]  # fmt: skip
    lines += _more(CHECKS_SHOWN, len(checks), "checks")
    failed = sum(1 for c in checks if not c.get("ok"))
    summary = f"Checks ({len(checks) - failed} of {len(checks)} passed)"
    section.extras.append(Extra(summary, "\n".join(lines)))


def _signature(d: dict[str, Any], section: Section, used: set[str]) -> None:
    kinds = [(k, t) for k in ("inputs", "outputs") if (t := _dicts(d.get(k))) is not None]
    if not kinds:
        return
    used.update(k for k, _ in kinds)
    lines = ["| Kind | Name | Dtype | Shape |", "|---|---|---|---|"]
    for kind, tensors in kinds:
        for tensor in tensors[:TENSORS_SHOWN]:
            shape = tensor.get("shape")
            dims = "[" + ", ".join(str(x) for x in shape) + "]" if isinstance(shape, list) else shape
            lines.append(f"| {kind[:-1]} | {code(tensor.get('name', '?'), 100, in_table=True)} | "
                         f"{cell(tensor.get('dtype', ''), 40)} | {cell(dims if dims is not None else '', 100)} |")  # fmt: skip
        if len(tensors) > TENSORS_SHOWN:
            lines.append(f"| {kind[:-1]} | … {len(tensors) - TENSORS_SHOWN:,} more in report.json | | |")
    section.extras.append(Extra("Signature", "\n".join(lines)))


def _worst_rows(d: dict[str, Any], section: Section, used: set[str]) -> None:
    rows = _dicts(d.get("worst_rows"))
    if rows is None:
        return
    used.add("worst_rows")
    if not rows:
        return
    lines = ["| Row | Expected (training) | Actual (artifact) | Abs diff |", "|---:|---:|---:|---:|"]
    lines += [f"| {cell(number(r.get('row')), 20)} | {cell(number(r.get('expected')), 40)} | "
              f"{cell(number(r.get('actual')), 40)} | {cell(number(r.get('abs_diff')), 40)} |"
              for r in rows[:WORST_ROWS_SHOWN]]  # fmt: skip
    if len(rows) > WORST_ROWS_SHOWN:
        lines.append(f"| … {len(rows) - WORST_ROWS_SHOWN:,} more in report.json | | | |")
    section.extras.append(Extra(f"Largest differences ({min(len(rows), WORST_ROWS_SHOWN)} rows)", "\n".join(lines)))


def _confusion(d: dict[str, Any], section: Section, used: set[str]) -> None:
    cm = d.get("confusion_matrix")
    if not isinstance(cm, dict):
        return
    labels, matrix = cm.get("labels"), cm.get("matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list) or not all(isinstance(r, list) for r in matrix):
        return
    used.add("confusion_matrix")
    shown = labels[:LABELS_SHOWN]
    names = [cell(x, 30) for x in shown]
    lines = ["| true ＼ predicted | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for name, row in zip(names, matrix):
        lines.append(f"| **{name}** | " + " | ".join(cell(number(v), 20) for v in row[:LABELS_SHOWN]) + " |")
    note = f"\n\n_{len(labels) - LABELS_SHOWN:,} more classes in report.json_" if len(labels) > LABELS_SHOWN else ""
    section.extras.append(Extra("Confusion matrix (rows: true class)", "\n".join(lines) + note))


def _metrics(d: dict[str, Any], section: Section, used: set[str]) -> None:
    """Metric dicts repeat the measurements; shown only when there are none."""
    for key in ("metrics", "candidate_metrics", "baseline_metrics"):
        value = d.get(key)
        if isinstance(value, dict) and all(isinstance(v, (int, float, type(None))) for v in value.values()):
            used.add(key)
    if section.table is None:
        metrics = d.get("metrics") or d.get("candidate_metrics")
        if isinstance(metrics, dict) and metrics:
            rows = [[cell(k, 100), cell(number(v), 40)] for k, v in metrics.items()]
            section.table = Table(["Metric", "Value"], rows)


def _baseline(d: dict[str, Any], section: Section, used: set[str]) -> None:
    """The compare gate's deployed baseline: which one, where it serves, since when, and what it was told."""
    artifact = d.get("baseline_artifact")
    if not isinstance(artifact, str):
        return
    used.update({"baseline_artifact", "baseline_version"})
    fact = f"compared with {code(artifact, 200)}"
    if isinstance(d.get("baseline_version"), str):
        fact += f" (version {cell(d['baseline_version'], 60)})"
    if isinstance(d.get("baseline_environment"), str):
        used.update({"baseline_environment", "baseline_serving", "baseline_deployed_at"})
        serving = d.get("baseline_serving") if isinstance(d.get("baseline_serving"), str) else "stable"
        at = d.get("baseline_deployed_at") if isinstance(d.get("baseline_deployed_at"), str) else "unknown"
        fact += f", the {cell(serving, 20)} model of {cell(d['baseline_environment'], 60)}, deployed {cell(at, 40)}"
    section.facts.append(fact)
    notes = d.get("baseline_notes")
    if isinstance(notes, list) and all(isinstance(n, str) for n in notes):
        used.add("baseline_notes")
        section.facts += [cell(n, 300) for n in notes[:5]]


PRODUCTION_TITLE = "The deployed model in production (not the same rows as this holdout)"


def _production(d: dict[str, Any], section: Section, used: set[str]) -> None:
    """Next to the offline comparison: the deployed model's recorded and live numbers, labelled as such."""
    production = d.get("production")
    if not isinstance(production, dict):
        return
    used.add("production")
    recorded: dict[str, Any] = _as_dict(production.get("recorded"))
    live: dict[str, Any] | None = _as_dict(production.get("live")) or None
    offline: dict[str, Any] = _as_dict(d.get("baseline_metrics"))
    rows: dict[str, list[str]] = {}

    def put(name: str, column: int, value: Any, unit: str = "") -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.setdefault(name, ["—", "—", "—"])[column] = cell(number(value, unit), 40)

    for name, value in offline.items():
        put(name, 0, value)
    for name, value in (recorded.get("metrics") or {}).items():
        put(name, 1, value)
    if live is not None:
        for name, value in (live.get("quality") or {}).items():
            put(name, 2, value)
        for p, value in (live.get("latency_ms") or {}).items():
            put(f"latency {p}", 2, value, "ms")
        put("error rate", 2, live.get("error_rate"))
    lines = [f"_{cell(production.get('label') or '', 300)}_", ""]
    if rows:
        headers = ["Metric", "Deployed model on this holdout", "Recorded when packaged", "Live: monitor window"]
        table = Table(headers, [[cell(name, 60), *values] for name, values in rows.items()])
        lines.append(table.markdown())
    facts = []
    verdict = recorded.get("verdict")
    if isinstance(verdict, str):
        facts.append(f"its package was gated **{cell(verdict, 20)}**")
    if live is not None:
        requests = live.get("requests")
        labels = live.get("labels")
        facts.append(f"live window {code(str(live.get('window')), 200)}"
                     + (f", {requests:,} requests" if isinstance(requests, int) else "")
                     + (f", quality from {labels:,} delayed labels" if isinstance(labels, int) and labels else "")
                     + f", from {code(str(live.get('monitor')), 200)}")  # fmt: skip
    notes = production.get("notes")
    if isinstance(notes, list):
        facts += [cell(n, 300) for n in notes[:5] if isinstance(n, str)]
    lines += ["", *[f"- {f}" for f in facts]] if facts else []
    section.extras.append(Extra(PRODUCTION_TITLE, "\n".join(lines).strip()))


_RENDERERS: list[Renderer] = [
    _facts, _baseline, _production, _failed_tests, _checks, _signature, _confusion, _worst_rows, _command, _output,
    _metrics,
]  # fmt: skip


def _as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
