"""Canary analysis over a metrics source; decisions recorded on the object itself.

A ``MetricsSource`` hands out samples per role (canary, stable) and metric; the
monitor's API and Prometheus are implementations to come, a JSON file of samples
is the one here. Each judged step lands in the ``mlpipex.dev/canary`` annotation
(failures so far, the last decisions with their numbers), so a runner that crashed
resumes with the right failure count and `mlpipex status` shows why traffic moved.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mlpipex.config.model import CanaryConfig
from mlpipex.errors import InputError
from mlpipex.kserve.manifests import ANNOTATION
from mlpipex.stats.canary import Decision, decide, judge_metric

__all__ = ["CANARY_ANNOTATION", "FileSource", "MetricsSource", "analyse", "canary_record", "with_decision"]

CANARY_ANNOTATION = f"{ANNOTATION}canary"
KEEP = 20


class MetricsSource(Protocol):
    def samples(self, *, namespace: str, service: str, role: str, metric: str) -> np.ndarray:
        """Recent samples of ``metric`` for ``role`` ("canary" or "stable")."""
        ...


class FileSource:
    """Samples from a JSON file: ``{"canary": {"latency_p95": [...]}, "stable": {...}}``."""

    def __init__(self, path: Path) -> None:
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"metrics file not found: {path}") from None
        except ValueError as exc:
            raise InputError(f"metrics file {path} is not JSON: {exc}") from None

    def samples(self, *, namespace: str, service: str, role: str, metric: str) -> np.ndarray:
        values = self.data.get(role, {}).get(metric, [])
        return np.asarray(values, dtype=np.float64)


def canary_record(obj: dict[str, Any] | None) -> dict[str, Any]:
    notes = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    try:
        record: dict[str, Any] = json.loads(notes.get(CANARY_ANNOTATION, "{}"))
    except ValueError:
        record = {}
    return record


def analyse(settings: CanaryConfig, source: MetricsSource, *, namespace: str, service: str,
            failures_so_far: int) -> Decision:  # fmt: skip
    judgements = [
        judge_metric(
            m.name,
            source.samples(namespace=namespace, service=service, role="canary", metric=m.name),
            source.samples(namespace=namespace, service=service, role="stable", metric=m.name),
            direction=m.direction, margin=m.margin, alpha=settings.alpha, min_samples=settings.min_samples,
        )
        for m in settings.metrics
    ]  # fmt: skip
    return decide(judgements, failures_so_far=failures_so_far, max_failures=settings.max_failures)


def with_decision(service: dict[str, Any], previous: dict[str, Any], decision: Decision, *, traffic: int,
                  now: str) -> dict[str, Any]:  # fmt: skip
    entry = {
        "at": now, "traffic": traffic, "action": decision.action.value, "reason": decision.reason,
        "metrics": [{k: (v.value if hasattr(v, "value") else v) for k, v in asdict(j).items()}
                    for j in decision.judgements],
    }  # fmt: skip
    record = {"failures": decision.failures, "decisions": [*previous.get("decisions", []), entry][-KEEP:]}
    service["metadata"]["annotations"][CANARY_ANNOTATION] = json.dumps(record, separators=(",", ":"), default=str)
    return service
