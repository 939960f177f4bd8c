"""CloudEvents as Kafka records, both content modes, as Knative's KafkaSink writes them (issue 22, item 2)."""

from __future__ import annotations

import base64
import json

import pytest
from _kserve_events import headers, v2_request

from mlpipex.monitor import parse_event
from mlpipex.monitor._events import MalformedEvent
from mlpipex.monitor._kafka_events import STRUCTURED, from_record, revision_key, to_record

BODY = v2_request([[120.0, 33.0]])


def test_binary_mode_maps_ce_headers_back_to_the_http_attributes() -> None:
    sent = headers("id-1", "request", when=1_700_000_000.0)
    key, record_headers = to_record(sent, BODY)
    assert key == b"ml/fraud/predictor/fraud-predictor-00001"  # one revision, one partition
    assert ("ce_specversion", b"1.0") in record_headers and ("content-type", b"application/json") in record_headers
    attributes, body = from_record(record_headers, BODY)
    assert attributes == sent and body == BODY
    assert parse_event(attributes, body).revision == "fraud-predictor-00001"


@pytest.mark.parametrize("carry", ["data", "data_base64", "data_string"])
def test_structured_mode_gives_the_same_event(carry: str) -> None:
    sent = headers("id-2", "response", when=1_700_000_000.5)
    envelope: dict[str, object] = {k[3:]: v for k, v in sent.items() if k.startswith("ce-")}
    envelope["datacontenttype"] = "application/json"
    if carry == "data":
        envelope["data"] = json.loads(BODY)
    elif carry == "data_base64":
        envelope["data_base64"] = base64.b64encode(BODY).decode()
    else:
        envelope["data"] = BODY.decode()
    attributes, body = from_record([("content-type", f"{STRUCTURED}; charset=utf-8".encode())],
                                   json.dumps(envelope).encode())  # fmt: skip
    assert json.loads(body) == json.loads(BODY)
    assert attributes["content-type"] == "application/json"
    assert parse_event(attributes, body) == parse_event(sent, BODY)


def test_a_record_that_is_no_cloudevent_is_refused_by_name() -> None:
    with pytest.raises(MalformedEvent, match="no ce_ headers"):
        from_record([("traceparent", b"00-abc")], b"{}")
    with pytest.raises(MalformedEvent, match="not JSON"):
        from_record([("content-type", STRUCTURED.encode())], b"{not json")
    with pytest.raises(MalformedEvent, match="not base64"):
        from_record([("content-type", STRUCTURED.encode())], json.dumps({"specversion": "1.0", "data_base64": "@@"}).encode())


def test_the_key_names_the_revision_not_the_pod() -> None:
    one = headers("a", "request", when=0.0, pod="fraud-predictor-00002-deployment-5d8f7c9b4-x7k2p")
    other = headers("b", "request", when=0.0, pod="fraud-predictor-00002-deployment-6f9a8b7c5-q1w2e")
    assert revision_key(one) == revision_key(other) == b"ml/fraud/predictor/fraud-predictor-00002"
