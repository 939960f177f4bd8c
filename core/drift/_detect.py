"""Drift of current data against a reference, feature by feature, and one verdict.

Continuous features: two-sample KS (p-values corrected across features, drifted
when the adjusted p-value is below alpha), or binned PSI when
``continuous_psi`` is set. Categorical features: PSI over the reference's
categories plus one bucket for categories it never listed (drifted at
``psi_alert``, a warning at ``psi_warn``).

Nulls never enter a test: each test sees the non-null values, and each feature
reports both null rates so a change in missingness is visible on its own.
A feature with fewer than ``min_samples`` non-null values on either side gets
``drifted = None`` and stays out of the multiple-testing family. The verdict is
"drift" when any feature drifted, "insufficient_data" when no feature could be
tested, and "no_drift" otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np

from mlpipex.drift._correction import Correction, adjust_pvalues
from mlpipex.drift._ks import EXACT_MAX_N, ks_pvalue, ks_pvalues, ks_statistic, ks_statistic_cdf
from mlpipex.drift._psi import UNSEEN, binned_shares, psi
from mlpipex.drift._reference import (
    CategoricalReference,
    ContinuousReference,
    FeatureReference,
    Reference,
    categorical_counts,
    column_pool,
    numeric_values,
)
from mlpipex.errors import InputError

__all__ = ["REPORT_FORMAT", "DriftReport", "DriftSettings", "FeatureDrift", "detect_drift"]

REPORT_FORMAT = "mlpipex.drift/v1"
Verdict = Literal["drift", "no_drift", "insufficient_data"]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DriftSettings:
    """How drift is decided (the ``monitoring:`` section of mlpipex.yaml)."""

    alpha: float = 0.05
    correction: Correction = "bh"
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    min_samples: int = 100
    continuous_psi: bool = False
    bins: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.correction not in ("bh", "bonferroni", "none"):
            raise ValueError(f"correction must be bh, bonferroni or none, got {self.correction!r}")
        if not 0 < self.psi_warn <= self.psi_alert:
            raise ValueError("psi thresholds need 0 < psi_warn <= psi_alert")
        if self.min_samples < 1 or self.bins < 2:
            raise ValueError("min_samples must be >= 1 and bins >= 2")

    @classmethod
    def from_config(cls, monitoring: Any) -> DriftSettings:
        """From a ``MonitoringConfig`` (mlpipex.config) or anything with the same attributes."""
        return cls(alpha=monitoring.alpha, correction=monitoring.correction, psi_warn=monitoring.psi_warn,
                   psi_alert=monitoring.psi_alert, min_samples=monitoring.min_samples,
                   continuous_psi=monitoring.continuous_psi, bins=monitoring.bins)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: Literal["continuous", "categorical"]
    test: Literal["ks", "psi"]
    statistic: float | None  # KS D, or the PSI for a PSI test
    p_value: float | None  # None for PSI
    adjusted_p_value: float | None
    psi: float | None
    threshold: float  # alpha for KS, psi_alert for PSI
    drifted: bool | None  # None: too few samples to say
    n_reference: int  # non-null values
    n_current: int
    null_rate_reference: float = 0.0
    null_rate_current: float = 0.0
    level: Literal["ok", "warn", "alert", "unknown"] = "unknown"
    buckets: list[dict[str, Any]] = field(default_factory=list)  # PSI: label, reference and current share

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    verdict: Verdict
    features: list[FeatureDrift]
    settings: DriftSettings
    rows_reference: int
    rows_current: int
    reference_source: str = "columns"

    @property
    def drifted(self) -> bool:
        return self.verdict == "drift"

    @property
    def drifted_features(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def exit_code(self) -> int:
        return 1 if self.drifted else 0

    def to_dict(self) -> dict[str, Any]:
        tested = [f for f in self.features if f.drifted is not None]
        return {
            "format": REPORT_FORMAT,
            "verdict": self.verdict,
            "drifted": self.drifted,
            "summary": {
                "features": len(self.features),
                "tested": len(tested),
                "drifted": sum(1 for f in tested if f.drifted),
                "insufficient": len(self.features) - len(tested),
            },
            "rows": {"reference": self.rows_reference, "current": self.rows_current},
            "reference_source": self.reference_source,
            "settings": self.settings.to_dict(),
            "features": [f.to_dict() for f in self.features],
        }


def detect_drift(
    reference: Reference,
    current: Mapping[str, np.ndarray],
    settings: DriftSettings | None = None,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
) -> DriftReport:
    """Test every reference feature in ``current`` (1-D arrays by feature name).

    Features are measured in ``workers`` threads (numpy sorts and merges release the
    GIL); by default one per CPU, up to 4, once the data has a million values.
    """
    settings = settings or DriftSettings()
    missing = [name for name in reference.features if name not in current]
    if missing:
        raise InputError(f"the current data lacks feature columns: {', '.join(missing)}",
                         fix="give data with every reference feature (extra columns are ignored)")  # fmt: skip
    total = len(reference.features)
    rows_current = max((int(np.asarray(current[name]).size) for name in reference.features), default=0)
    partial: dict[str, dict[str, Any]] = {}
    ks_groups: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)

    def measure(item: tuple[str, FeatureReference]) -> tuple[str, dict[str, Any], float | None]:
        name, ref = item
        column = np.asarray(current[name])
        if isinstance(ref, CategoricalReference):
            return name, _categorical(ref, column, name, settings), None
        if settings.continuous_psi:
            return name, _continuous_psi(ref, column, name, settings), None
        result, d = _continuous_ks(ref, column, name, settings)
        if d is not None and max(result["n_reference"], result["n_current"]) > EXACT_MAX_N:
            # asymptotic p-value: one per column, so in the pool with the sort (it releases the GIL)
            statistic, p = ks_pvalue(d, result["n_reference"], result["n_current"])
            result.update(statistic=statistic, p_value=p)
            return name, result, None
        return name, result, d

    with column_pool(workers, rows_current * total) as pool:
        for done, (name, result, d) in enumerate(pool.map(measure, reference.features.items())):
            partial[name] = result
            if d is not None:
                ks_groups[(result["n_reference"], result["n_current"])].append((name, d))
            if progress:
                progress("testing features", done + 1, total)
    for (n1, n2), items in ks_groups.items():  # exact p-values: one recurrence per pair of sample sizes
        for (name, _), (d, p) in zip(items, ks_pvalues([d for _, d in items], n1, n2, workers=workers)):
            partial[name].update(statistic=d, p_value=p)
    _decide(partial, settings)
    features = [FeatureDrift(name=name, **partial[name]) for name in reference.features]
    decided = [f.drifted for f in features if f.drifted is not None]
    verdict: Verdict = "drift" if any(decided) else "no_drift" if decided else "insufficient_data"
    return DriftReport(verdict=verdict, features=features, settings=settings, rows_reference=reference.rows,
                       rows_current=rows_current, reference_source=reference.source)  # fmt: skip


def _decide(partial: dict[str, dict[str, Any]], settings: DriftSettings) -> None:
    """Correct the KS p-values of the testable features together, then decide each feature."""
    testable = [name for name, f in partial.items() if f["enough"] and f["test"] == "ks" and f["p_value"] is not None]
    adjusted = adjust_pvalues(np.array([partial[n]["p_value"] for n in testable]), settings.correction)
    for name, value in zip(testable, adjusted.tolist()):
        partial[name]["adjusted_p_value"] = float(value)
    for f in partial.values():
        enough = f.pop("enough")
        if not enough:
            f["drifted"], f["level"] = None, "unknown"
        elif f["test"] == "ks":
            f["drifted"] = bool(f["adjusted_p_value"] < settings.alpha)
            f["level"] = "alert" if f["drifted"] else "ok"
        else:
            f["drifted"] = bool(f["psi"] >= settings.psi_alert)
            f["level"] = "alert" if f["drifted"] else "warn" if f["psi"] >= settings.psi_warn else "ok"


def _base(ref: ContinuousReference | CategoricalReference, n_current: int, rows: int, nulls: int,
          settings: DriftSettings) -> dict[str, Any]:  # fmt: skip
    return {
        "n_reference": ref.n,
        "n_current": n_current,
        "null_rate_reference": ref.null_rate,
        "null_rate_current": nulls / rows if rows else 0.0,
        "enough": ref.n >= settings.min_samples and n_current >= settings.min_samples,
        "statistic": None, "p_value": None, "adjusted_p_value": None, "psi": None,
    }  # fmt: skip


def _continuous_ks(ref: ContinuousReference, column: np.ndarray, name: str,
                   settings: DriftSettings) -> tuple[dict[str, Any], float | None]:  # fmt: skip
    values = np.sort(numeric_values(column, name))
    result = {"kind": "continuous", "test": "ks", "threshold": settings.alpha,
              **_base(ref, values.size, column.size, column.size - values.size, settings)}  # fmt: skip
    if values.size == 0 or ref.n == 0:
        return result, None
    if ref.sorted_values is not None:
        return result, ks_statistic(ref.sorted_values, values)
    return result, ks_statistic_cdf(ref.cdf, values)


def _continuous_psi(ref: ContinuousReference, column: np.ndarray, name: str,
                    settings: DriftSettings) -> dict[str, Any]:  # fmt: skip
    values = np.sort(numeric_values(column, name))
    result = {"kind": "continuous", "test": "psi", "threshold": settings.psi_alert,
              **_base(ref, values.size, column.size, column.size - values.size, settings)}  # fmt: skip
    if values.size == 0 or ref.n == 0:
        return result
    # Bins from reference quantiles (deciles by default); tied quantiles merge into one bin.
    edges = np.unique(ref.quantiles(np.arange(1, settings.bins) / settings.bins))
    expected, observed = ref.bin_shares(edges), binned_shares(values, edges)
    labels = [f"≤ {edges[0]:.4g}"] + [f"({a:.4g}, {b:.4g}]" for a, b in pairwise(edges)] + \
        [f"> {edges[-1]:.4g}"]  # fmt: skip
    value = psi(expected, observed)
    result.update(statistic=value, psi=value, buckets=_buckets(labels, expected, observed))
    return result


def _categorical(ref: CategoricalReference, column: np.ndarray, name: str, settings: DriftSettings) -> dict[str, Any]:
    counts, nulls = categorical_counts(column, name)
    n = sum(counts.values())
    result = {"kind": "categorical", "test": "psi", "threshold": settings.psi_alert,
              **_base(ref, n, column.size, nulls, settings)}  # fmt: skip
    if n == 0 or ref.n == 0:
        return result
    labels = list(ref.frequencies)
    expected = [ref.frequencies[k] for k in labels]
    observed = [counts.get(k, 0) / n for k in labels]
    # Categories the reference did not list: the profile's pooled "other" share, if any, or unseen.
    rest = 1.0 - sum(observed)
    if ref.other > 0 or rest > 0:
        labels.append("(other)" if ref.other > 0 else UNSEEN)
        expected.append(ref.other)
        observed.append(max(rest, 0.0))
    value = psi(np.array(expected), np.array(observed))
    result.update(statistic=value, psi=value, buckets=_buckets(labels, np.array(expected), np.array(observed)))
    return result


def _buckets(labels: list[str], expected: np.ndarray, observed: np.ndarray) -> list[dict[str, Any]]:
    return [{"label": label, "reference": float(r), "current": float(c)}
            for label, r, c in zip(labels, expected, observed)]  # fmt: skip
