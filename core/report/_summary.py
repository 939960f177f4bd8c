"""The words every renderer uses for a run: gate counts and the verdict."""

from __future__ import annotations

from mlpipex.gates.result import Report, Status

VERDICT_WORDS = {
    Status.PASS: "passed",
    Status.WARN: "passed with warnings",
    Status.FAIL: "failed",
    Status.ERROR: "could not be checked",
    Status.SKIP: "skipped",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def counts(report: Report) -> str:
    """``5 passed, 1 warning, 0 failed`` — errors and skips only when there are any."""
    n = {s: sum(1 for g in report.gates if g.status is s) for s in Status}
    parts = [f"{n[Status.PASS]} passed", _plural(n[Status.WARN], "warning"), f"{n[Status.FAIL]} failed"]
    if n[Status.ERROR]:
        parts.append(_plural(n[Status.ERROR], "error"))
    if n[Status.SKIP]:
        parts.append(f"{n[Status.SKIP]} skipped")
    return ", ".join(parts)


def verdict_words(report: Report) -> str:
    """``failed``, ``passed with warnings``… and whether warnings fail this run."""
    verdict = report.verdict
    if verdict is Status.WARN and report.exit_code != 0:
        return "failed on warnings (fail_on: warn)"
    return VERDICT_WORDS[verdict]
