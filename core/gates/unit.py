"""Gate 2, unit: the pre/post-processing code's own tests, run as an argument list.

``{python}`` in the command is the interpreter running mlpipex; ``{junit}`` a
temporary JUnit XML path. The counts come from the XML, not from parsing output,
so any runner that writes JUnit (pytest, unittest-xml-reporting, go test via
gotestsum, …) works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlpipex.errors import EXIT_BAD_INPUT, InputError, Location
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.secrets import redact, redact_data

NAME = "unit"
OUTPUT_TAIL = 4000

# What a test command may see of mlpipex's environment unless the config passes more:
# enough to find programs and behave as in a shell, never the CI's tokens.
SAFE_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM",
    "TMPDIR", "TEMP", "TMP", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHASHSEED", "CI", "SYSTEMROOT",
)  # fmt: skip


def command_environment(pass_env: list[str], env: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The command's environment: the safe defaults and ``pass_env`` from ``environ``, then ``env``."""
    names = (*SAFE_ENV, *pass_env)
    return {**{n: environ[n] for n in names if n in environ}, **env}


@dataclass
class JUnitCounts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed_tests: list[dict[str, str]] = field(default_factory=list)


def parse_junit(path: Path) -> JUnitCounts:
    """Counts from a JUnit XML file (a <testsuites> or a single <testsuite>)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"cannot read the JUnit report: {exc}", location=Location(str(path))) from None
    counts = JUnitCounts()
    for case in root.iter("testcase"):
        counts.tests += 1
        name = ".".join(p for p in (case.get("classname"), case.get("name")) if p)
        for tag, attr in (("failure", "failures"), ("error", "errors")):
            problem = case.find(tag)
            if problem is not None:
                setattr(counts, attr, getattr(counts, attr) + 1)
                message = problem.get("message") or (problem.text or "").strip()
                counts.failed_tests.append({"name": name, "message": message[:500]})
        if case.find("skipped") is not None:
            counts.skipped += 1
    return counts


def evaluate(counts: JUnitCounts, *, exit_code: int | None, timed_out: float | None) -> GateResult:
    measurements = [
        Measurement("tests", counts.tests, threshold="> 0",
                    status=Status.PASS if counts.tests else Status.FAIL),
        Measurement("failures", counts.failures, threshold="== 0",
                    status=Status.FAIL if counts.failures else Status.PASS),
        Measurement("errors", counts.errors, threshold="== 0",
                    status=Status.FAIL if counts.errors else Status.PASS),
        Measurement("skipped", counts.skipped),
    ]  # fmt: skip
    passed = counts.tests - counts.failures - counts.errors - counts.skipped
    if timed_out is not None:
        status, message = Status.FAIL, f"the test command timed out after {timed_out:g} s"
    elif counts.failures or counts.errors:
        first = counts.failed_tests[0]["name"] if counts.failed_tests else "?"
        status = Status.FAIL
        message = f"{counts.failures + counts.errors} of {counts.tests} tests failed (first: {first})"
    elif counts.tests == 0:
        status, message = Status.FAIL, "the test command ran no tests"
    elif exit_code:
        status, message = Status.FAIL, f"the test command exited with {exit_code} although no test failed"
    else:
        status = Status.PASS
        message = f"{passed} tests passed" + (f", {counts.skipped} skipped" if counts.skipped else "")
    return GateResult(NAME, status, message, measurements,
                      details={"failed_tests": counts.failed_tests})  # fmt: skip


def run(ctx: GateContext) -> GateResult:
    settings = ctx.config.gates.unit
    cwd = ctx.config.resolve(settings.cwd)
    with tempfile.TemporaryDirectory(prefix="mlpipex-unit-") as tmp:
        junit = Path(tmp) / "junit.xml"
        if settings.junit is not None:
            junit = (cwd / settings.junit).resolve()
            junit.unlink(missing_ok=True)  # never read a stale report from an earlier run
        command = [a.replace("{python}", sys.executable).replace("{junit}", str(junit))
                   for a in settings.command]  # fmt: skip
        timed_out: float | None = None
        exit_code: int | None = None
        try:
            proc = subprocess.run(
                command, cwd=cwd, capture_output=True, text=True, errors="replace",
                env=command_environment(settings.pass_env, settings.env, os.environ),
                timeout=settings.timeout, stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
            output, exit_code = proc.stdout + proc.stderr, proc.returncode
        except FileNotFoundError:
            result = GateResult(
                NAME, Status.ERROR,
                f"test command not found: `{command[0]}`; install it or fix gates.unit.command",
                error_exit_code=EXIT_BAD_INPUT,
            )  # fmt: skip
            result.details["command"] = command
            return result
        except subprocess.TimeoutExpired as exc:
            timed_out = settings.timeout
            output = _text(exc.stdout) + _text(exc.stderr)
        if junit.is_file():
            counts = parse_junit(junit)
        elif timed_out is None:
            result = GateResult(
                NAME, Status.FAIL,
                f"the test command exited with {exit_code} and wrote no JUnit report to {junit.name}",
            )  # fmt: skip
            result.details.update(command=command, exit_code=exit_code, output_tail=redact(output)[-OUTPUT_TAIL:])
            return redact_data(result)
        else:
            counts = JUnitCounts()
    result = evaluate(counts, exit_code=exit_code, timed_out=timed_out)
    result.details.update(command=command, exit_code=exit_code, output_tail=redact(output)[-OUTPUT_TAIL:])
    return redact_data(result)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
