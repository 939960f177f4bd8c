"""Population stability index (PSI) from bucket shares.

PSI = sum_i (c_i - r_i) * ln(c_i / r_i) over buckets, with r_i the reference
share and c_i the current share of bucket i. Conventions: below 0.1 stable,
0.1-0.25 a moderate shift worth a look, above 0.25 a significant shift.

Empty buckets. A share of 0 on either side would make the term infinite, so a
share below ``EPSILON`` = 1e-4 (0.01%) counts as 1e-4 in the logarithm and the
difference alike; shares are not renormalised afterwards. An empty bucket thus
adds a bounded term (at most about |c - r| * ln(|c - r| / 1e-4)), the usual
practice, and two identical distributions still give exactly 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPSILON", "UNSEEN", "binned_shares", "psi"]

EPSILON = 1e-4
UNSEEN = "(unseen)"  # the bucket of current categories the reference never listed


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two share vectors over the same buckets (each summing to 1, or all 0)."""
    r = np.maximum(np.asarray(reference, dtype=np.float64), EPSILON)
    c = np.maximum(np.asarray(current, dtype=np.float64), EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def binned_shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of sorted values in the bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    if sorted_values.size == 0:
        return np.zeros(edges.size + 1)
    cumulative = np.searchsorted(sorted_values, edges, side="right")
    counts = np.diff(np.concatenate([[0], cumulative, [sorted_values.size]]))
    return counts / sorted_values.size
