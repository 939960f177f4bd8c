"""scipy's compiled band recurrence for the exact KS p-value, when scipy is installed.

``scipy.stats.ks_2samp`` computes the exact two-sided p-value of unequal sample sizes with
``_compute_outer_prob_inside_method(m, n, g, h)``, a Pythran-compiled loop over the
lattice columns (Viehmann's recursion for P(outside) itself, so small p-values keep
their relative precision). It is private, but it has had this name, signature and
meaning from scipy 1.10 (the oldest version the extras allow) to 1.17, and calling it
gives scipy's own p-value bit for bit, ~10x faster than any numpy recurrence of ours.

It is loaded straight from its extension file: ``import scipy.stats._stats_pythran``
would import all of ``scipy.stats`` first (~0.4 s; the file alone takes ~0.04 s).
Anything unexpected (no scipy, a renamed or moved function, a failed load, a
changed meaning caught by the self-check) makes ``band_outside`` return None, and
the caller uses its numpy recurrence instead: the statistics stay equal either way.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

__all__ = ["band_outside"]

BandOutside = Callable[[int, int, int, int], float]

_MODULE = "scipy.stats._stats_pythran"
_FUNCTION = "_compute_outer_prob_inside_method"
# (m, n, h) -> P(|n x - m y| >= h gcd along a uniform lattice path): counted exactly by
# tests/drift/test_ks.py's _outside_by_counting; a scipy whose function meant something
# else (P(inside), another scaling of h) fails these
_SELF_CHECK = {(7, 5, 12): 73 / 99, (10, 4, 14): 12 / 143, (9, 6, 5): 4493 / 5005}


@cache
def band_outside() -> BandOutside | None:
    """scipy's ``_compute_outer_prob_inside_method``, or None where it is missing or means something else."""
    function = _load()
    if function is None:
        return None
    try:
        for (m, n, h), expected in _SELF_CHECK.items():
            if not math.isclose(float(function(m, n, math.gcd(m, n), h)), expected, rel_tol=1e-12):
                return None
    except Exception:  # a changed signature: use ours
        return None
    return function


def _load() -> BandOutside | None:
    loaded: object | None = sys.modules.get(_MODULE)
    if loaded is None:
        try:
            spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        loaded = _load_extension(Path(next(iter(spec.submodule_search_locations))) / "stats")
    function = getattr(loaded, _FUNCTION, None)
    return function if callable(function) else None


def _load_extension(folder: Path) -> object | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_stats_pythran{suffix}"
        if not path.is_file():
            continue
        try:
            spec = importlib.util.spec_from_file_location(_MODULE, path)
            if spec is None or spec.loader is None:
                return None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except Exception:  # an incompatible build: use ours
            return None
        return module
    return None
