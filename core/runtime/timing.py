"""Timing loops for inference calls.

Kept minimal on purpose: the per-call overhead of these loops is what the
latency-fidelity benchmark measures against a bare ``session.run`` loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["time_calls", "time_interleaved"]

MIN_CALLS = 30  # below this a p99 means nothing, whatever the time budget says


def time_calls(
    call: Callable[[], Any],
    *,
    iterations: int,
    warmup: int = 0,
    time_budget: float | None = None,
) -> np.ndarray:
    """Milliseconds per call, ``iterations`` calls or until ``time_budget`` seconds run out."""
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    samples = np.empty(iterations, dtype=np.int64)
    deadline = None if time_budget is None else clock() + int(time_budget * 1e9)
    count = 0
    for count in range(1, iterations + 1):
        start = clock()
        call()
        end = clock()
        samples[count - 1] = end - start
        if deadline is not None and end > deadline and count >= MIN_CALLS:
            break
    return samples[:count] / 1e6


def time_interleaved(
    call_a: Callable[[], Any],
    call_b: Callable[[], Any],
    *,
    iterations: int,
    warmup: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A B A B …: both models see the same machine noise, so their ratio is fair.

    The order inside each pair alternates (AB, BA, …) so neither model always runs
    on a cache the other just warmed.
    """
    for _ in range(warmup):
        call_a()
        call_b()
    clock = time.perf_counter_ns
    a = np.empty(iterations, dtype=np.int64)
    b = np.empty(iterations, dtype=np.int64)
    for i in range(iterations):
        first, second, store_first, store_second = (
            (call_a, call_b, a, b) if i % 2 == 0 else (call_b, call_a, b, a)
        )
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        store_first[i] = t1 - t0
        store_second[i] = t2 - t1
    return a / 1e6, b / 1e6
