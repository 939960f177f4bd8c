"""Data drift: is the current data still distributed like the reference?

Pure numpy (no scipy): two-sample Kolmogorov–Smirnov for continuous features
(equal to ``scipy.stats.ks_2samp``: the statistic exactly, the p-value to a relative
1e-9), PSI for
categorical features (and binned continuous ones when asked), multiple-testing
correction across features, and a minimum sample size below which no verdict is
given. The reference is either raw columns or a packaged reference profile::

    from mlpipex.drift import Reference, DriftSettings, detect_drift

    ref = Reference.from_profile(profile)          # or Reference.from_columns(columns, categorical)
    report = detect_drift(ref, current_columns, DriftSettings(alpha=0.01))
    report.verdict, report.drifted, report.features, report.to_dict()
"""

from mlpipex.drift._correction import adjust_pvalues
from mlpipex.drift._detect import (
    REPORT_FORMAT,
    DriftReport,
    DriftSettings,
    FeatureDrift,
    detect_drift,
)
from mlpipex.drift._ks import ks_2samp
from mlpipex.drift._psi import EPSILON, psi
from mlpipex.drift._reference import CategoricalReference, ContinuousReference, Reference
from mlpipex.drift._report import Sources, render_console, render_html, render_json, render_markdown

__all__ = [
    "EPSILON",
    "REPORT_FORMAT",
    "CategoricalReference",
    "ContinuousReference",
    "DriftReport",
    "DriftSettings",
    "FeatureDrift",
    "Reference",
    "Sources",
    "adjust_pvalues",
    "detect_drift",
    "ks_2samp",
    "psi",
    "render_console",
    "render_html",
    "render_json",
    "render_markdown",
]
