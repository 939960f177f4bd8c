"""Per-revision samples for the canary analysis, served by the monitor and read by ``MonitorSource``.

Which windows are the canary and which the stable: with ``revisions`` (the rollout
flow knows both predictors' names, and each predictor's logger URL carries its name,
so the monitor keys its windows by them), the canary is the windows of the canary's
revision — none until its events arrive — and the stable those of the stable's; a
stable that logs without the marker (a Knative revision made before mlpipex wrote
it) is the window carrying neither name that saw traffic last.
Without names: the windows KServe's logger marked ``ce-endpoint: canary`` when it
does; otherwise (Knative mode splits traffic between revisions of one endpoint) the
revision seen most recently for the first time is the canary and the one before it
is stable. Samples per metric:

- ``latency*`` (latency_p50, latency_p95…): each request's latency in ms — the
  Mann–Whitney test compares the distributions, whatever the percentile's name;
- ``error_rate``: the error share of each run of ``ERROR_BUCKET`` consecutive requests;
- ``confidence*``: each prediction's top probability.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlpipex.errors import ExternalError, InputError
from mlpipex.monitor._auth import TOKEN_ENV
from mlpipex.monitor._events import check_revision
from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._windows import Window

__all__ = ["ERROR_BUCKET", "MonitorSource", "canary_revisions", "role_windows", "samples_for"]

ERROR_BUCKET = 10
ROLES = ("canary", "stable")


def canary_revisions(canary: str | None, stable: str | None) -> dict[str, str] | None:
    """``{"canary": …, "stable": …}`` from the samples endpoint's parameters: both or neither, each a
    predictor name (``MalformedEvent`` otherwise)."""
    if canary is None and stable is None:
        return None
    if canary is None or stable is None:
        raise InputError("canary_revision and stable_revision go together",
                         fix="give both predictor names, or neither for the rules by endpoint and age")  # fmt: skip
    return {"canary": check_revision(canary), "stable": check_revision(stable)}


def role_windows(ingestor: Ingestor, namespace: str, service: str, role: str,
                 revisions: Mapping[str, str] | None = None) -> list[Window]:  # fmt: skip
    """The windows of ``role``; ``revisions`` ({"canary": name, "stable": name}) selects by revision name."""
    if role not in ROLES:
        raise InputError(f"role must be canary or stable, not {role!r}")
    with ingestor.lock:
        windows = [w for w in ingestor.windows.values()
                   if w.key.namespace == namespace and w.key.service == service and w.key.component == "predictor"]  # fmt: skip
    if revisions:
        named = [w for w in windows if w.key.revision == revisions[role]]
        if named or role == "canary":  # the canary is always mlpipex's latest write: it carries its name
            return named
        # A stable logging without the marker: the unmarked window that saw traffic last (never the canary's).
        unmarked = [w for w in windows if w.key.revision not in revisions.values() and w.endpoint != "canary"]
        return [max(unmarked, key=lambda w: w.last_seen)] if unmarked else []
    return _by_rules(windows, role)


def _by_rules(windows: list[Window], role: str) -> list[Window]:
    if any(w.endpoint == "canary" for w in windows):
        return [w for w in windows if (w.endpoint == "canary") == (role == "canary")]
    by_age = sorted(windows, key=lambda w: w.first_seen)
    if role == "canary":
        return by_age[-1:] if len(by_age) > 1 else []
    return by_age[-2:-1] if len(by_age) > 1 else by_age


def _metric_samples(window: Window, metric: str) -> np.ndarray:
    if metric.startswith("latency"):
        return window.latencies.values()[:, 1]
    if metric == "error_rate":
        outcomes = window.outcomes.values()[:, 1]
        usable = outcomes.size - outcomes.size % ERROR_BUCKET
        return outcomes[:usable].reshape(-1, ERROR_BUCKET).mean(axis=1) if usable else np.empty(0)
    if metric.startswith("confidence"):
        return window.confidences.values()[:, 0]
    raise InputError(f"the monitor has no samples of `{metric}`",
                     fix="use latency_p50/latency_p95/latency_p99, error_rate or confidence_mean")  # fmt: skip


def samples_for(ingestor: Ingestor, *, namespace: str, service: str, role: str, metric: str,
                revisions: Mapping[str, str] | None = None) -> np.ndarray:  # fmt: skip
    windows = role_windows(ingestor, namespace, service, role, revisions)
    with ingestor.lock:
        parts = [_metric_samples(w, metric) for w in windows]
    return np.concatenate(parts) if parts else np.empty(0)


class MonitorSource:
    """The canary analysis's ``MetricsSource`` over the monitor's HTTP API (``GET /api/v1/samples``)."""

    def __init__(self, url: str, *, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # A token with the `read` scope; by default the one the monitor itself reads from the environment.
        self._token = token if token is not None else os.environ.get(TOKEN_ENV)

    def samples(self, *, namespace: str, service: str, role: str, metric: str,
                revisions: Mapping[str, str] | None = None) -> np.ndarray:  # fmt: skip
        params = {"namespace": namespace, "service": service, "role": role, "metric": metric}
        if revisions:
            params.update({"canary_revision": revisions["canary"], "stable_revision": revisions["stable"]})
        query = urllib.parse.urlencode(params)
        body = self._get(f"/api/v1/samples?{query}", f"samples of `{metric}` ({role})")
        return np.asarray(body.get("samples", []), dtype=np.float64)

    def windows(self) -> list[dict[str, Any]]:
        """``GET /api/v1/windows``: each window's latency percentiles, error rate and quality (the compare gate's
        numbers of the deployed model in production)."""
        body = self._get("/api/v1/windows", "its windows")
        windows = body.get("windows", body.get("group", []))  # Kafka mode: the group's merged windows
        return [w for w in windows if isinstance(w, dict)] if isinstance(windows, list) else []

    def _get(self, path: str, what: str) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}{path}")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code in (401, 403):
                raise InputError(f"the monitor at {self.url} refused a read of {what}: HTTP {exc.code}",
                                 fix=f"set {TOKEN_ENV} to a monitor token with the read scope") from None  # fmt: skip
            if 400 <= exc.code < 500:
                raise InputError(f"the monitor refused {what}: {detail}",
                                 fix="check deploy.environments[].canary.metrics names") from None  # fmt: skip
            raise ExternalError(f"the monitor at {self.url} answered HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise ExternalError(f"cannot reach the monitor at {self.url}: {exc}",
                                fix="check deploy.monitor.url and that `mlpipex monitor serve` runs") from None  # fmt: skip
        return body if isinstance(body, dict) else {}
