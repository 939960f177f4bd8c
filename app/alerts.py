"""Drift alerts the App accepts, as data: mlpipex's own format and Alertmanager's.

Pure (pydantic only): the monitor builds ``DriftAlert`` to send one, the App
validates it, and an Alertmanager notification is turned into the same shape, so
the retraining handler (job kind ``alert.drift``) reads one format whatever the
source. The job payload is ``{"source": "mlpipex"|"alertmanager", "alert": DriftAlert
as JSON, "repository": {"full_name": …}}``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
)

__all__ = [
    "AlertmanagerAlert",
    "AlertmanagerNotification",
    "DriftAlert",
    "DriftWindow",
    "FeatureDrift",
    "from_alertmanager",
]



def _json_number(value: object) -> object:
    if isinstance(value, (str, bool)):
        raise ValueError("must be a JSON number")
    return value


# Exactly the JSON types the schema names: no number read as a Unix timestamp, no
# "0.5" read as a number, no 0 read as false (pydantic's lax mode would).
Timestamp = Annotated[datetime, Strict()]
Number = Annotated[float, BeforeValidator(_json_number)]
OptionalNumber = Annotated[float | None, BeforeValidator(_json_number)]  # (this form keeps ge/le in the JSON Schema)
Count = Annotated[int, BeforeValidator(_json_number)]

_REPOSITORY = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class FeatureDrift(BaseModel):
    """One feature's drift test against the reference profile."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    test: Literal["ks", "psi", "chi2"] = Field(description="ks: two-sample Kolmogorov–Smirnov (continuous); psi: population stability index (categorical)")
    statistic: Number = Field(description="the test statistic (KS D, or the PSI value)", allow_inf_nan=False)
    p_value: OptionalNumber = Field(None, ge=0, le=1, description="p-value after multiple-testing correction (KS)")
    psi: OptionalNumber = Field(None, ge=0, allow_inf_nan=False, description="population stability index (PSI tests)")
    drifted: StrictBool


class DriftWindow(BaseModel):
    """The production data the drift was measured on."""

    model_config = ConfigDict(extra="forbid")
    start: Timestamp
    end: Timestamp
    samples: Count = Field(ge=0)


class DriftAlert(BaseModel):
    """mlpipex's drift alert (``POST /alerts/drift``). ``id`` makes delivery idempotent:
    the same id sent twice queues one job."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@/-]+$")
    model: str = Field(min_length=1, max_length=200, pattern=_NAME)
    repository: str = Field(max_length=300, pattern=_REPOSITORY, description="owner/name of the model's repository")
    environment: str = Field("production", min_length=1, max_length=100, pattern=_NAME)
    window: DriftWindow | None = None
    features: list[FeatureDrift] = Field(default_factory=list, max_length=10_000)
    verdict: Literal["drift", "no_drift"] = "drift"
    severity: Literal["info", "warning", "critical"] = "warning"
    fired_at: Timestamp
    summary: str | None = Field(None, max_length=10_000)
    report_url: str | None = Field(None, max_length=2000)


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
