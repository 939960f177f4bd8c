"""``data:``: the holdout set, its label and features, the training set."""

from __future__ import annotations

from pydantic import Field

from mlpipex.config.model._base import _Strict

__all__ = ["DataConfig"]

class DataConfig(_Strict):
    holdout: str = Field(description="Holdout set, CSV or Parquet, relative to this config file.")
    label: str = Field(description="Column holding the true label or target.")
    features: list[str] | None = Field(
        None,
        description="Feature columns in model input order; default: every other column.",
    )
    prediction_column: str | None = Field(
        None, description="Column with the label the training pipeline predicted (skew gate)."
    )
    score_column: str | None = Field(
        None,
        description=(
            "Column with the training pipeline's score: positive-class probability for "
            "binary classification, the prediction for regression (skew gate)."
        ),
    )
    positive_label: int | str | None = Field(
        None, description="Positive class for binary metrics; default the larger label."
    )
    training: str | None = Field(
        None,
        description=(
            "Training set (or a representative sample), CSV or Parquet: the reference "
            "profile that monitoring and input validation compare against is built from it."
        ),
    )
    categorical: list[str] = Field(
        default_factory=list,
        description="Features to treat as categorical (frequencies, PSI); the rest are continuous.",
    )
