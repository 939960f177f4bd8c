"""Alert decisions (pure): hysteresis over consecutive checks, and the alert's body.

A lasting drift gives one alert: the alert fires after ``fire_after`` consecutive
drifted checks and may fire again only after ``resolve_after`` consecutive clean
ones resolved it. A check without a verdict (too few samples) changes nothing.
The body is the one drift-alert schema, ``mlpipex.alerts.DriftAlertBody`` (the App's
``POST /alerts/drift`` parses its ``DriftAlert``): every body is checked against it
before it is queued, so the monitor cannot send what the App would refuse. ``model``
is the InferenceService name the monitor knows the model by (``service_name``);
where the drift was seen (namespace, revision) goes into ``summary``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlpipex.alerts import DriftAlertBody

__all__ = ["Hysteresis", "alert_body", "alert_id", "step"]


@dataclass(frozen=True)
class Hysteresis:
    drifted_checks: int = 0  # consecutive
    clean_checks: int = 0  # consecutive
    firing: bool = False
    since: float | None = None  # when the current firing started

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hysteresis:
        return cls(**{k: data[k] for k in ("drifted_checks", "clean_checks", "firing", "since") if k in data})


def step(state: Hysteresis, drifted: bool | None, *, fire_after: int, resolve_after: int,
         now: float) -> tuple[Hysteresis, str | None]:  # fmt: skip
    """The next state after one check, and "fire", "resolve" or None."""
    if drifted is None:
        return state, None
    if drifted:
        count = state.drifted_checks + 1
        if not state.firing and count >= fire_after:
            return Hysteresis(count, 0, True, now), "fire"
        return Hysteresis(count, 0, state.firing, state.since), None
    count = state.clean_checks + 1
    if state.firing and count >= resolve_after:
        return Hysteresis(0, count, False, None), "resolve"
    return Hysteresis(0, count, state.firing, state.since), None


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@/-]")


def alert_id(kind: str, window_label: str, fired_at: float) -> str:
    """Unique per firing, stable across retries (the receiver dedupes by it)."""
    digest = hashlib.sha256(f"{kind}|{window_label}|{fired_at:.6f}".encode()).hexdigest()[:16]
    return _UNSAFE.sub("-", f"mlpipex-monitor:{kind}:{window_label}:{digest}")[:200]


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _feature(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One feature as the App's FeatureDrift: finite numbers only (its model rejects NaN and infinity)."""
    test = str(entry.get("test") or "ks").lower()
    statistic = entry.get("statistic")
    if isinstance(statistic, (int, float)) and math.isinf(statistic):
        statistic = math.copysign(1e300, statistic)  # an infinite PSI (a category the reference never had)
    p_value = _finite(entry.get("adjusted_p_value", entry.get("p_value")))
    psi = entry.get("psi")
    psi = 1e300 if isinstance(psi, (int, float)) and math.isinf(psi) else _finite(psi)
    return {
        "name": str(entry.get("name"))[:200],
        "test": test if test in ("ks", "psi", "chi2") else "ks",
        "statistic": _finite(statistic) or 0.0,
        "p_value": min(1.0, max(0.0, p_value)) if p_value is not None else None,
        "psi": max(0.0, psi) if psi is not None else None,
        "drifted": bool(entry.get("drifted")),
    }


def alert_body(*, alert_id: str, model: str, repository: str | None, environment: str, window_label: str,
               window_start: float, window_end: float, samples: int, features: Sequence[Mapping[str, Any]],
               severity: str, fired_at: float, summary: str) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "id": alert_id,
        "model": model,
        "environment": environment,
        "window": {"start": _iso(window_start), "end": _iso(window_end), "samples": int(samples)},
        "features": [_feature(f) for f in features],
        "verdict": "drift",
        "severity": severity,
        "fired_at": _iso(fired_at),
        "summary": f"{summary} ({window_label})"[:10_000],
    }
    if repository:
        body["repository"] = repository
    DriftAlertBody.model_validate_json(json.dumps(body))  # as the App reads it: JSON on the wire
    return body
