"""Multiple-testing correction across features.

Testing 50 features at alpha = 0.05 flags about 2.5 of them on identical data;
the adjusted p-values below keep the family-wise error (Bonferroni) or the false
discovery rate (Benjamini–Hochberg) at alpha instead. A feature is drifted when
its adjusted p-value is below alpha.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["Correction", "adjust_pvalues"]

Correction = Literal["bh", "bonferroni", "none"]


def adjust_pvalues(pvalues: np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values, in the input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "bh":
        # Step-up: adjusted p_(i) = min over j >= i of m p_(j) / j, for p sorted ascending.
        order = np.argsort(p, kind="stable")
        scaled = p[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
        out = np.empty(m)
        out[order] = np.minimum(adjusted, 1.0)
        return out
    raise ValueError(f"unknown correction {method!r} (bh, bonferroni or none)")
