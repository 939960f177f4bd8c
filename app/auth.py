"""Request authentication, pure: GitHub's webhook signature, bearer tokens, alert HMACs."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["bearer_matches", "sign", "signature_matches"]


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the ``X-Hub-Signature-256`` GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the HMAC-SHA256 of the raw ``body`` (constant-time compare)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))


def bearer_matches(token: str | None, header: str | None) -> bool:
    """True when ``Authorization: Bearer <token>`` carries ``token`` (constant-time compare)."""
    if not token or not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.encode(), given.strip().encode("utf-8", "replace"))
