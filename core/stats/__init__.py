"""Pure numerics: model metrics, percentiles and their confidence intervals."""

from mlpipex.stats.metrics import (
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
    roc_auc,
)
from mlpipex.stats.percentiles import (
    Interval,
    bootstrap_percentile_ci,
    bootstrap_ratio_ci,
    percentile,
)

__all__ = [
    "CLASSIFICATION_METRICS",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "Interval",
    "bootstrap_percentile_ci",
    "bootstrap_ratio_ci",
    "classification_metrics",
    "percentile",
    "regression_metrics",
    "roc_auc",
]
