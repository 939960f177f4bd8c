"""Canary analysis over a metrics source; decisions recorded on the object itself.

A ``MetricsSource`` hands out samples per role (canary, stable) and metric:
Prometheus (range queries over the step's interval, PromQL per metric) or a JSON
file of samples; the monitor's own API joins them with the monitoring work. Each judged step lands in the ``mlpipex.dev/canary`` annotation
(failures so far, the last decisions with their numbers), so a runner that crashed
resumes with the right failure count and `mlpipex status` shows why traffic moved.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mlpipex.config.model import CanaryConfig
from mlpipex.errors import ExternalError, InputError
from mlpipex.kserve.manifests import ANNOTATION
from mlpipex.stats.canary import Decision, decide, judge_metric

__all__ = [
    "CANARY_ANNOTATION",
    "FileSource",
    "MetricsSource",
    "PrometheusSource",
    "Revisions",
    "analyse",
    "canary_record",
    "with_decision",
]

CANARY_ANNOTATION = f"{ANNOTATION}canary"
KEEP = 20


Revisions = Mapping[str, str]  # {"canary": predictor name, "stable": predictor name}


class MetricsSource(Protocol):
    def samples(self, *, namespace: str, service: str, role: str, metric: str,
                revisions: Revisions | None = None) -> np.ndarray:  # fmt: skip
        """Recent samples of ``metric`` for ``role`` ("canary" or "stable"); ``revisions`` names the
        two predictors (the revision each one's payload logger marks its events with), when known."""
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

    def samples(self, *, namespace: str, service: str, role: str, metric: str,
                revisions: Revisions | None = None) -> np.ndarray:  # fmt: skip
        values = self.data.get(role, {}).get(metric, [])
        return np.asarray(values, dtype=np.float64)


class PrometheusSource:
    """Samples from Prometheus's HTTP API: each point of a range query over the analysis window."""

    def __init__(self, url: str, queries: Mapping[str, str | None], *, window_seconds: float,
                 step_seconds: float = 15.0, timeout: float = 10.0) -> None:  # fmt: skip
        self.url = url.rstrip("/")
        self.queries = queries
        self.window = window_seconds
        self.step = step_seconds
        self.timeout = timeout

    def query_for(self, *, namespace: str, service: str, role: str, metric: str,
                  revisions: Revisions | None = None) -> str:  # fmt: skip
        template = self.queries.get(metric)
        if not template:
            raise InputError(f"canary metric `{metric}` has no PromQL query",
                             fix="set deploy.environments[].canary.metrics[].query ($namespace, $service, $role)")  # fmt: skip
        names = {"revision": revisions[role]} if revisions else {}  # $revision: the role's predictor name
        return string.Template(template).safe_substitute(namespace=namespace, service=service, role=role, **names)

    def samples(self, *, namespace: str, service: str, role: str, metric: str,
                revisions: Revisions | None = None) -> np.ndarray:  # fmt: skip
        import time
        import urllib.error
        import urllib.parse
        import urllib.request

        query = self.query_for(namespace=namespace, service=service, role=role, metric=metric, revisions=revisions)
        end = time.time()
        params = urllib.parse.urlencode({"query": query, "start": f"{end - self.window:.3f}", "end": f"{end:.3f}",
                                         "step": f"{self.step:g}"})  # fmt: skip
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query_range?{params}", timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = _prometheus_error(exc)
            raise InputError(f"Prometheus rejected the query for `{metric}` ({role}): {detail}",
                             fix="check the PromQL in deploy.environments[].canary.metrics") from None  # fmt: skip
        except (OSError, ValueError) as exc:
            raise ExternalError(f"cannot query Prometheus at {self.url}: {exc}",
                                fix="check deploy.prometheus.url and that Prometheus is up") from None  # fmt: skip
        values = [float(v) for series in body.get("data", {}).get("result", []) for _, v in series.get("values", [])]
        return np.asarray(values, dtype=np.float64)


def _prometheus_error(exc: Any) -> str:
    try:
        return str(json.loads(exc.read()).get("error"))
    except ValueError:
        return f"HTTP {exc.code}"


def canary_record(obj: dict[str, Any] | None) -> dict[str, Any]:
    notes = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    try:
        record: dict[str, Any] = json.loads(notes.get(CANARY_ANNOTATION, "{}"))
    except ValueError:
        record = {}
    return record


def analyse(settings: CanaryConfig, source: MetricsSource, *, namespace: str, service: str,
            failures_so_far: int, revisions: Revisions | None = None) -> Decision:  # fmt: skip
    """Judge each metric on the canary's samples against the stable's. ``revisions`` (the two
    predictors' names) is passed on only when given, so a source written before it still works."""
    named: dict[str, Any] = {"revisions": revisions} if revisions else {}
    judgements = [
        judge_metric(
            m.name,
            source.samples(namespace=namespace, service=service, role="canary", metric=m.name, **named),
            source.samples(namespace=namespace, service=service, role="stable", metric=m.name, **named),
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
