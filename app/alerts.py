"""Drift alerts the App accepts, as data: mlpipex's own format and Alertmanager's.

Pure (pydantic only). mlpipex's format is defined once, in ``mlpipex.alerts`` (the
monitor builds it there, the App parses ``DriftAlert`` from it); an Alertmanager
notification is turned into the same shape, so the retraining handler (job kind
:data:`JOB_KIND`) reads one format whatever the source. The job payload is ``{"source": "mlpipex"|"alertmanager", "alert": DriftAlert
as JSON, "repository": {"full_name": …}}``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from mlpipex.alerts import Count, DriftAlert, DriftWindow, FeatureDrift, Timestamp

__all__ = [
    "JOB_KIND",
    "AlertmanagerAlert",
    "AlertmanagerNotification",
    "DriftAlert",
    "DriftWindow",
    "FeatureDrift",
    "from_alertmanager",
]

#: The job a drift alert becomes (the intake queues it, mlpipex.app.retraining handles it).
JOB_KIND = "alert.drift"


class AlertmanagerAlert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: Timestamp
    endsAt: Timestamp | None = None
    generatorURL: str | None = None
    fingerprint: str = Field(min_length=1, max_length=100)


class AlertmanagerNotification(BaseModel):
    """Prometheus Alertmanager's webhook body (``version: "4"``)."""

    version: Literal["4"]
    groupKey: str
    truncatedAlerts: Count = 0
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)


def from_alertmanager(alert: AlertmanagerAlert) -> DriftAlert | str:
    """The drift alert an Alertmanager alert stands for, or why it is skipped.

    Labels ``model`` and ``repository`` are required; ``environment`` and ``severity``
    are read when present; annotations ``summary``/``description`` become the summary.
    Idempotency key: fingerprint + startsAt (one firing of one alert).
    """
    if alert.status != "firing":
        return "resolved alerts start nothing"
    labels = alert.labels
    missing = [name for name in ("model", "repository") if not labels.get(name)]
    if missing:
        return f"alert {alert.fingerprint} has no {' or '.join(missing)} label"
    severity = labels.get("severity", "warning")
    data: dict[str, Any] = {
        "id": f"alertmanager:{alert.fingerprint}:{_utc(alert.startsAt)}",
        "model": labels["model"],
        "repository": labels["repository"],
        "environment": labels.get("environment", "production"),
        "severity": severity if severity in ("info", "warning", "critical") else "warning",
        "fired_at": alert.startsAt,
        "summary": alert.annotations.get("summary") or alert.annotations.get("description"),
        "report_url": alert.generatorURL,
    }
    try:
        return DriftAlert.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"alert {alert.fingerprint}: label {where} does not fit a drift alert: {first['msg']}"


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
