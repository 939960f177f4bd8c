"""The drift alert on the wire: the one schema the monitor sends and the App accepts.

``mlpipex monitor`` builds the body (mlpipex.monitor._alerts.alert_body, checked
against :class:`DriftAlertBody`); the App's ``POST /alerts/drift`` parses it as
:class:`DriftAlert` (mlpipex.app.alerts), which also turns Alertmanager's
notifications into the same shape. Pure: pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool

__all__ = ["Count", "DriftAlert", "DriftAlertBody", "DriftWindow", "FeatureDrift", "Number", "Timestamp"]


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


class DriftAlertBody(BaseModel):
    """A drift alert as the monitor sends it to any webhook: a plain receiver needs no
    ``repository``. ``id`` makes delivery idempotent: the same id sent twice queues one job.

    ``model`` is the name the monitor knows the model by: its InferenceService
    (``deploy.name``, else ``model.name``, i.e. ``mlpipex.kserve.service_name``). The App
    finds the model's config by either name.
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@/-]+$")
    model: str = Field(min_length=1, max_length=200, pattern=_NAME,
                       description="the model's InferenceService name (deploy.name, else model.name)")  # fmt: skip
    repository: str | None = Field(None, max_length=300, pattern=_REPOSITORY, description="owner/name of the model's repository")
    environment: str = Field("production", min_length=1, max_length=100, pattern=_NAME)
    window: DriftWindow | None = None
    features: list[FeatureDrift] = Field(default_factory=list, max_length=10_000)
    verdict: Literal["drift", "no_drift"] = "drift"
    severity: Literal["info", "warning", "critical"] = "warning"
    fired_at: Timestamp
    summary: str | None = Field(None, max_length=10_000)
    report_url: str | None = Field(None, max_length=2000)


class DriftAlert(DriftAlertBody):
    """mlpipex's drift alert as the App accepts it (``POST /alerts/drift``): the body above,
    with the ``repository`` whose retraining pull request it opens."""

    repository: str = Field(max_length=300, pattern=_REPOSITORY, description="owner/name of the model's repository")
