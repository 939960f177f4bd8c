"""``monitoring:``: how drift is tested, the monitor's window, its alerts and quality checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlpipex.config.model._base import _DURATION, _Strict

__all__ = ["MonitorAlertsConfig", "MonitorQualityConfig", "MonitoringConfig"]

class MonitorAlertsConfig(_Strict):
    url: str | None = Field(None, description="Webhook the monitor POSTs alerts to, e.g. the App's https://…/alerts/drift.")
    token_env: str = Field("MLPIPEX_ALERT_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                           description="Environment variable holding the bearer token sent with each alert.")  # fmt: skip
    fire_after: int = Field(2, ge=1, description="Consecutive drifted checks before an alert fires.")
    resolve_after: int = Field(2, ge=1, description="Consecutive clean checks before a firing alert resolves (and may fire again).")


class MonitorQualityConfig(_Strict):
    max_drop: float = Field(0.05, ge=0, description="Tolerated drop of accuracy (absolute) or rise of MAE (relative) against the package's metrics.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Significance level of the one-sided test of a quality drop.")
    min_labels: int = Field(100, gt=0, description="Labelled predictions needed before quality is judged.")


class MonitoringConfig(_Strict):
    """How drift is tested (``mlpipex drift`` and the monitor); see mlpipex.drift."""

    schedule: str | None = Field(None, pattern=_DURATION, description="How often drift is tested, e.g. 15m (default 15m).")
    alpha: float = Field(
        0.05, gt=0, lt=1,
        description="Significance level of the KS test per feature, after the multiple-testing correction.",
    )
    correction: Literal["bh", "bonferroni", "none"] = Field(
        "bh",
        description="Multiple-testing correction across features: bh (Benjamini-Hochberg, false "
        "discovery rate), bonferroni (family-wise error) or none.",
    )
    psi_warn: float = Field(0.1, gt=0, description="PSI at or above this is reported as a warning.")
    psi_alert: float = Field(0.25, gt=0, description="PSI at or above this counts as drift.")
    min_samples: int = Field(
        100, ge=1,
        description="Fewer non-null values than this (reference or current) and a feature gets no verdict.",
    )
    continuous_psi: bool = Field(
        False, description="Test continuous features by binned PSI instead of Kolmogorov-Smirnov."
    )
    bins: int = Field(
        10, ge=2, le=1000, description="Bins of the continuous PSI, cut at reference quantiles (10: deciles)."
    )
    psi_threshold: float | None = Field(
        None, gt=0, description="Deprecated: the old name of psi_alert (used when psi_alert is not set)."
    )
    reference: str | None = Field(
        None,
        description=(
            "The model's reference: a profile JSON file, a pulled package directory, or an OCI reference "
            "(REF@sha256:…); default the package model.name:model.version in the local store (.mlpipex/oci)."
        ),
    )
    repository: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                                   description="owner/name of the model's repository (where the App opens retraining PRs).")  # fmt: skip
    environment: str = Field("production", description="Environment named in alerts.")
    window: int = Field(10_000, ge=100, le=10_000_000, description="Recent rows kept per model revision for drift and percentiles.")
    join_timeout: str = Field("60s", pattern=_DURATION,
                              description="How long a request waits for its response event before it counts as failed.")  # fmt: skip
    alerts: MonitorAlertsConfig = Field(default_factory=MonitorAlertsConfig)
    quality: MonitorQualityConfig = Field(default_factory=MonitorQualityConfig)

    @model_validator(mode="after")
    def _psi_order(self) -> MonitoringConfig:
        if self.psi_threshold is not None and "psi_alert" not in self.model_fields_set:
            object.__setattr__(self, "psi_alert", self.psi_threshold)
        if self.psi_warn > self.psi_alert:
            raise ValueError(f"psi_warn ({self.psi_warn}) must not exceed psi_alert ({self.psi_alert})")
        return self
