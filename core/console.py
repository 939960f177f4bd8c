"""What a person sees while mlpipex runs.

On a terminal: a live progress bar per long step and colour. In CI logs (no TTY,
or ``CI`` set): plain, timestamp-free lines that read well in any log viewer.
``NO_COLOR`` and ``FORCE_COLOR`` are honoured.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from mlpipex.gates.result import GateResult, Status

__all__ = ["Console"]

_COLORS = {
    Status.PASS: "32", Status.WARN: "33", Status.FAIL: "31", Status.SKIP: "90", Status.ERROR: "35",
}  # fmt: skip


class Console:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> None:
        env = os.environ if environ is None else environ
        self.stream = stream or sys.stderr
        self.quiet = quiet
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interactive = tty and not env.get("CI")
        self.color = (tty and "NO_COLOR" not in env) or bool(env.get("FORCE_COLOR"))
        self._last_draw = 0.0
        self._bar_open = False
        self._announced: set[str] = set()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def paint(self, text: str, status: Status) -> str:
        return f"\x1b[{_COLORS[status]}m{text}\x1b[0m" if self.color else text

    def line(self, text: str = "") -> None:
        if self.quiet:
            return
        self._end_bar()
        self._write(text + "\n")

    def progress(self, label: str, done: int, total: int) -> None:
        """A redrawn bar on a terminal; one start line per step in logs."""
        if self.quiet:
            return
        if not self.interactive:
            if label not in self._announced and done < total:
                self._announced.add(label)
                self._write(f"  … {label}\n")
            return
        now = time.monotonic()
        if done < total and now - self._last_draw < 0.1:
            return  # redraw at most ten times a second
        self._last_draw = now
        width = 24
        filled = int(width * done / total) if total else width
        bar = "█" * filled + "░" * (width - filled)
        self._write(f"\r  {label:<32} {bar} {done}/{total}\x1b[K")
        self._bar_open = True
        if done >= total:
            self._end_bar()

    def _end_bar(self) -> None:
        if self._bar_open:
            self._write("\r\x1b[K")
            self._bar_open = False

    def gate_started(self, name: str) -> None:
        if not self.interactive:
            self.line(f"▶ {name}")

    def gate_result(self, result: GateResult) -> None:
        status = self.paint(f"{result.status.value:<5}", result.status)
        self.line(f"{result.status.icon} {result.gate:<8} {status} {result.message}  ({result.duration_s:.2f} s)")
