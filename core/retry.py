"""Waiting before a retry, defined once for every client that retries (GitLab, Kubernetes, the alert outbox).

Each client keeps its own loop (what is retryable differs: a 409 for Kubernetes, a
429 for GitLab, any 5xx for the App's alert endpoint), but how long to wait is the
same rule everywhere: exponential backoff with a cap, or longer when the server
says so in ``Retry-After``.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

__all__ = ["backoff", "retry_after"]


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """``base``·2^attempt seconds (attempt 0 first), at most ``cap``."""
    return float(min(base * 2**attempt, cap))


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None when
    absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError):
        return None
