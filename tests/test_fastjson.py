"""mlpipex.fastjson reads exactly what json.loads reads, to the same values (orjson where it agrees)."""

from __future__ import annotations

import json
import math

import pytest

from mlpipex import fastjson

DOCUMENTS = [
    b'{"a": 1, "b": [1.5, -0, true, null, "\\u00e9"]}',
    b'{"a":1,"a":2}',  # the last duplicate wins in both
    b"18446744073709551615",  # the largest integer orjson keeps exact
    b"18446744073709551616",  # orjson reads this as a float
    b"-9223372036854775809",
    b'{"id": 123456789012345678901234567890}',
    b"0.1234567890123456789012",
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1e400",  # orjson refuses; json reads inf
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    '{"a": "é"}'.encode("utf-16"),
    b'"\\ud800"',  # a lone surrogate
    b"  [1, 2]  ",
]
BAD = [b"", b"{", b"[1,]", b"{'a': 1}", b"\xff\xfe\xfd", b"payload=%7B%7D", b"[1] x"]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("document", DOCUMENTS)
def test_loads_gives_json_s_value_and_type(document: bytes) -> None:
    assert _same(fastjson.loads(document), json.loads(document))
    value, text = fastjson.loads_with_text(document)
    assert _same(value, json.loads(document))
    if text is not None:  # the text handed back reads back to the same value
        assert _same(json.loads(text), value)


@pytest.mark.parametrize("document", BAD)
def test_loads_refuses_what_json_refuses_with_its_error(document: bytes) -> None:
    with pytest.raises((ValueError, UnicodeDecodeError)) as expected:
        json.loads(document)
    with pytest.raises(type(expected.value)) as got:
        fastjson.loads(document)
    assert str(got.value) == str(expected.value)


def test_dumps_writes_what_starlette_s_json_response_writes() -> None:
    from starlette.responses import JSONResponse

    for value in ({"status": "queued", "kind": "é", "job_id": 7, "reason": None}, {"detail": [{"a": [1, True]}]},
                  {"big": 2**70}):  # fmt: skip
        assert fastjson.dumps(value) == JSONResponse(value).body
