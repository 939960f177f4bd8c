"""What every section of mlpipex.yaml shares: strict models, the gate switch, the duration format."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlpipex.config.durations import DURATION

_DURATION = DURATION  # mlpipex.config.durations: the format and its parser


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Gate(_Strict):
    enabled: bool = Field(True, description="Run this gate.")

    @model_validator(mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        # `latency: false` is the natural way to turn a gate off.
        if isinstance(value, bool):
            return {"enabled": value}
        return value
