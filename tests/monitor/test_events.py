"""Parsing KServe's binary-mode CloudEvents and decoding v1/v2 payloads (pure)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from _kserve_events import headers, rfc3339_nano, v1_request, v1_response, v2_request, v2_response

from mlpipex.monitor import (
    MalformedEvent,
    decode_request,
    decode_response,
    parse_event,
    revision_of,
)
from mlpipex.monitor._events import parse_time


def test_time_with_nanoseconds_and_offsets() -> None:
    whole = dt.datetime(2026, 11, 28, 21, 34, 10, tzinfo=dt.timezone.utc).timestamp()
    assert parse_time("2026-11-28T21:34:10.123456789Z") == pytest.approx(whole + 0.123456789, abs=1e-6)
    assert parse_time("2026-11-28T22:34:10+01:00") == parse_time("2026-11-28T21:34:10Z")
    assert parse_time(rfc3339_nano(1795902850.5)) == pytest.approx(1795902850.5, abs=1e-6)
    with pytest.raises(ValueError):
        parse_time("yesterday")


@pytest.mark.parametrize(("pod", "revision"), [
    ("fraud-predictor-00002-deployment-5d8f7c9b4-x7k2p", "fraud-predictor-00002"),  # Knative revision
    ("fraud-predictor-6b7c9d5f4-x2k8q", "fraud-predictor"),  # Standard mode Deployment
    ("http://localhost:9081/", "http://localhost:9081"),  # the agent's default source
])  # fmt: skip
def test_revision_from_the_pod_name(pod: str, revision: str) -> None:
    assert revision_of(pod) == revision


def test_a_request_event() -> None:
    event = parse_event(headers("abc-1", "request", when=1795902850.25, endpoint="canary"), v1_request([[1.0, 2.0]]))
    assert (event.id, event.kind, event.service, event.namespace, event.component, event.endpoint) == \
        ("abc-1", "request", "fraud", "ml", "predictor", "canary")  # fmt: skip
    assert event.revision == "fraud-predictor-00001"
    assert event.time == pytest.approx(1795902850.25, abs=1e-6)


@pytest.mark.parametrize(("change", "reason"), [
    ({"ce-specversion": "0.3"}, "specversion"),
    ({"ce-id": ""}, "id"),
    ({"ce-type": "com.example.other"}, "type"),
    ({"ce-inferenceservicename": ""}, "service"),
    ({"ce-time": "not a time"}, "time"),
])  # fmt: skip
def test_bad_headers_are_named(change: dict[str, str], reason: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event({**headers("x", "request", when=1.0), **change}, v1_request([[1.0]]))
    assert caught.value.reason == reason


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_bad_bodies(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(headers("x", "request", when=1.0), body)


def test_v1_rows_by_position_and_by_name() -> None:
    names, matrix = decode_request(json.loads(v1_request([[1, 2], [3, 4]])), ("a", "b"))
    assert names == ["a", "b"] and matrix.tolist() == [[1, 2], [3, 4]]
    names, matrix = decode_request({"instances": [{"b": 2, "a": 1}]}, ("a", "b"))
    assert matrix.tolist() == [[1, 2]]
    names, matrix = decode_request({"instances": [[1, 2, 3]]}, None)
    assert names == ["x0", "x1", "x2"]
    with pytest.raises(MalformedEvent):
        decode_request({"instances": [[1, 2], [3]]}, None)


def test_v2_matrix_and_per_feature_tensors() -> None:
    names, matrix = decode_request(json.loads(v2_request([[1, 2], [3, 4]])), ("a", "b"))
    assert names == ["a", "b"] and matrix.tolist() == [[1, 2], [3, 4]]
    names, matrix = decode_request(json.loads(v2_request([[1, 2]])), None)
    assert names == ["features[0]", "features[1]"]
    per_feature = {"inputs": [{"name": "b", "shape": [2], "datatype": "FP64", "data": [3, 4]},
                              {"name": "a", "shape": [2], "datatype": "INT64", "data": [1, 2]}]}  # fmt: skip
    names, matrix = decode_request(per_feature, ("a", "b"))
    assert matrix.tolist() == [[1, 3], [2, 4]]
    with pytest.raises(MalformedEvent):  # 3 values for shape [2, 2]
        decode_request({"inputs": [{"name": "f", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]}, None)


def test_responses_give_predictions_and_confidences() -> None:
    out = decode_response(json.loads(v1_response([[0.9, 0.1], [0.2, 0.8]])))
    assert out.predictions.tolist() == [0, 1] and out.confidences.tolist() == [0.9, 0.8]
    out = decode_response(json.loads(v2_response([1, 0], [[0.3, 0.7], [0.6, 0.4]])))
    assert out.predictions.tolist() == [1, 0]
    np.testing.assert_allclose(out.confidences, [0.7, 0.6])
    out = decode_response({"predictions": [3.5, 4.0]})  # regression: values, no confidence
    assert out.predictions.tolist() == [3.5, 4.0] and np.isnan(out.confidences).all()
    assert decode_response({"error": "model failed"}).error
    with pytest.raises(MalformedEvent):
        decode_response({"something": "else"})


@pytest.mark.parametrize("body", [
    b'{"instances": [[NaN, 1.0], [Infinity, 2.0]]}',  # orjson refuses these; json (the monitor's answer) reads them
    b'\xef\xbb\xbf{"instances": [[1.0, 2.0]]}',  # a byte-order mark
    b'{"id": 123456789012345678901234567890, "instances": [[1.0, 2.0]]}',  # orjson would make it a float
])  # fmt: skip
def test_payloads_are_read_as_json_reads_them(body: bytes) -> None:
    event = parse_event(headers("e", "request", when=1_800_000_000.0), body)
    assert json.dumps(event.payload) == json.dumps(json.loads(body.decode("utf-8-sig")))
    assert type(event.payload.get("id", 0)) is int


@pytest.mark.parametrize("probabilities", [[0.2, 0.8], [0.5, 0.5], [0.9, 0.05, 0.05], [float("nan"), 0.3],
                                           [float("inf"), 0.1], [-1.0, -2.0], [0.0, 0.0]])  # fmt: skip
@pytest.mark.parametrize("label", [None, [1], [7]])
def test_a_one_row_response_reads_as_that_row_of_a_batch(probabilities: list[float], label: list[int] | None) -> None:
    # One row (the usual response) takes a path without array work; it must agree with the batch path.
    def payload(rows: int) -> dict[str, object]:
        outputs = [{"name": "probabilities", "shape": [rows, len(probabilities)], "datatype": "FP64",
                    "data": probabilities * rows}]  # fmt: skip
        if label is not None:
            outputs.insert(0, {"name": "label", "shape": [rows], "datatype": "INT64", "data": label * rows})
        return {"outputs": outputs}

    one, batch = decode_response(payload(1)), decode_response(payload(2))
    np.testing.assert_array_equal(one.predictions, batch.predictions[:1])
    np.testing.assert_array_equal(one.confidences, batch.confidences[:1])
    assert one.predictions.dtype == batch.predictions.dtype == np.float64 and one.confidences.shape == (1,)
