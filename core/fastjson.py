"""JSON for the hot paths: orjson when it is installed, the standard library's answers always.

``loads`` accepts exactly what ``json.loads`` accepts and returns the same value.
orjson (about 3× faster on a webhook or a v2 payload) reads strict UTF-8 JSON; what it
refuses — NaN, 1e400, a byte-order mark, UTF-16, lone surrogates, or not JSON at
all — goes to ``json.loads``, which decides (and words the error) as before. orjson
also reads an integer past 64 bits as a float where ``json`` keeps it exact, so a
document with a run of 19 or more digits anywhere goes to ``json`` too (a 3 kB
check: 1.5 µs).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads", "loads_with_text"]

try:
    import orjson as _orjson
except ImportError:  # the app and monitor extras bring it; without it everything works, slower
    _orjson = None  # type: ignore[assignment]

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # -9223372036854775808 has 19 digits: shorter runs are exact in orjson


def _orjson_reads_it_exactly(data: bytes) -> bool:
    return _orjson is not None and _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO)


def loads(data: bytes) -> Any:
    """``json.loads(data)``, faster."""
    if _orjson_reads_it_exactly(data):
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(data)


def loads_with_text(data: bytes) -> tuple[Any, str | None]:
    """``json.loads(data)`` and, when orjson read it (strict UTF-8 JSON), its text: a document that any
    JSON reader reads back to the same value, so a caller can store it instead of serialising again."""
    if _orjson_reads_it_exactly(data):
        try:
            return _orjson.loads(data), data.decode("utf-8")
        except _orjson.JSONDecodeError:
            pass
    return json.loads(data), None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette's ``JSONResponse`` renders it (non-ASCII kept), for replies made of
    strings, integers, booleans, None, lists and dicts (orjson writes NaN as null: replies hold no floats)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value)
        except TypeError:  # an integer past 64 bits, a type orjson does not write: the standard library decides
            pass
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")
