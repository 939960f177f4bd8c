"""``retraining:``: when the App opens retraining pull requests on its own."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlpipex.config.model._base import _Strict

__all__ = ["RetrainingConfig"]

class RetrainingConfig(_Strict):
    schedule: str | None = Field(None, description="When the App opens a retraining pull request on its own: a "
                                 "five-field cron expression in UTC, e.g. `0 6 * * 1` (Mondays 06:00).")  # fmt: skip
    labels: list[str] = Field(default_factory=lambda: ["retraining"],
                              description="Labels on retraining pull requests.")  # fmt: skip

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from mlpipex.config.cron import parse_cron

            parse_cron(value)
        return value
