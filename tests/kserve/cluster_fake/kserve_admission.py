"""KServe's own admission code, for the tests: the InferenceService webhooks' Go functions.

tests/kserve_admission/ is a Go program built against github.com/kserve/kserve
(pinned in its go.mod) by scripts/build-go-tool.sh into .cache-go/. It runs the
mutating webhook's ``Default`` (with the ``inferenceservice-config`` ConfigMap a
default install ships) and the validating webhook's ``ValidateCreate`` /
``ValidateUpdate``, one JSON line per request. One process serves the whole test
session (``shared()``); it answers in about a millisecond.

Where the binary cannot be had, ``shared()`` fails the test under CI (``CI=true``)
and skips it elsewhere, with the reason.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "scripts" / "build-go-tool.sh"
NAME = "kserve-admission"
MODULE = "github.com/kserve/kserve"


@dataclass(frozen=True)
class Verdict:
    """KServe's answer: the defaulted object, or the webhook's refusal."""

    allowed: bool
    object: dict[str, Any] | None = None
    message: str = ""
    webhook: str = ""
    stage: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def api_message(self) -> str:
        """The message the API server relays for a webhook's denial (k8s.io/apiserver ToStatusErr)."""
        return f'admission webhook "{self.webhook}" denied the request: {self.message}'


class AdmissionUnavailable(RuntimeError):
    pass


class KServeAdmission:
    """One long-lived oracle process; ``admit`` is thread-safe (the fake API server is threaded)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [str(folder / NAME), "-configmap", str(folder / "inferenceservice.yaml")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        hello = json.loads(self._readline())
        self.kserve_version: str = hello["kserve"]

    def _readline(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise AdmissionUnavailable(f"{self.folder / NAME} exited (code {self._process.poll()})")
        return line

    def admit(self, operation: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> Verdict:
        """``operation`` is create or update (``old`` = the stored object); apply and patch are one of these."""
        request = {"op": operation, "object": obj, **({"old": old} if old is not None else {})}
        with self._lock:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._readline())
        if "error" in answer:  # the oracle could not read the request: a bug in the test, not a verdict
            raise ValueError(f"kserve-admission: {answer['error']}")
        return Verdict(
            allowed=answer["allowed"], object=answer.get("object"), message=answer.get("message", ""),
            webhook=answer.get("webhook", ""), stage=answer.get("stage", ""), warnings=answer.get("warnings") or [],
        )  # fmt: skip

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()


def binary_folder() -> Path:
    """The built oracle: $MLPIPEX_KSERVE_ADMISSION (set by scripts/test.sh), else build it now (cached)."""
    given = os.environ.get("MLPIPEX_KSERVE_ADMISSION")
    if given:
        folder = Path(given) if Path(given).is_absolute() else ROOT / given
        if (folder / NAME).exists():
            return folder
        raise AdmissionUnavailable(f"MLPIPEX_KSERVE_ADMISSION={given} holds no {NAME} binary")
    if shutil.which("go") is None:
        raise AdmissionUnavailable("Go is not installed: KServe's admission code (tests/kserve_admission) cannot be "
                                   "built; install Go >= 1.25 and run scripts/test.sh")  # fmt: skip
    result = subprocess.run(["bash", str(BUILD), "tests/kserve_admission", NAME, MODULE], cwd=ROOT,
                            capture_output=True, text=True, timeout=1800)  # fmt: skip
    if result.returncode != 0:
        raise AdmissionUnavailable(f"building {NAME} failed:\n{result.stderr[-3000:]}")
    return ROOT / result.stdout.strip().splitlines()[-1]


_shared: KServeAdmission | None = None
_failure: str | None = None
_start_lock = threading.Lock()


def shared() -> KServeAdmission:
    """The session's oracle; a test that needs it fails in CI and skips elsewhere when it cannot run."""
    global _shared, _failure
    with _start_lock:
        if _shared is None and _failure is None:
            try:
                _shared = KServeAdmission(binary_folder())
                atexit.register(_shared.close)
            except (AdmissionUnavailable, OSError, ValueError, KeyError) as exc:
                _failure = str(exc)
    if _shared is None:
        unavailable(f"KServe's admission code is not available: {_failure}")
    assert _shared is not None
    return _shared


def unavailable(reason: str, environ: dict[str, str] | None = None) -> None:
    """Fail under CI (the oracle must run there), skip on a machine without Go."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def assert_admitted(obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """KServe admits ``obj`` (create, or update over ``old``); returns the defaulted object."""
    verdict = shared().admit("update" if old is not None else "create", obj, old)
    name = obj.get("metadata", {}).get("name")
    assert verdict.allowed, f"KServe {shared().kserve_version} refuses InferenceService {name}: {verdict.api_message}"
    assert verdict.object is not None
    return verdict.object
