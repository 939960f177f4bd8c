"""Ingestion without HTTP: the ce-id join, latency, errors, and bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _kserve_events import headers, v1_request, v1_response, v2_request, v2_response

from mlpipex.monitor import Ingestor, Limits, MalformedEvent, ModelInfo, Ring, WindowKey

KEY = WindowKey("ml", "fraud", "predictor", "fraud-predictor-00001")


def test_ring_keeps_the_newest_rows_in_order() -> None:
    ring = Ring(4, 2)
    ring.add(np.array([[1, 1], [2, 2], [3, 3]]))
    ring.add(np.array([[4, 4], [5, 5]]))
    assert ring.values()[:, 0].tolist() == [2, 3, 4, 5]
    ring.add(np.arange(20).reshape(10, 2))  # more than fits: only the newest
    assert ring.values()[:, 0].tolist() == [12, 14, 16, 18]


def test_request_and_response_join_by_ce_id_in_either_order() -> None:
    ingestor = Ingestor(models={"fraud": ModelInfo("fraud", features=("a", "b"))})
    ingestor.ingest(headers("r1", "request", when=100.000), v1_request([[1.0, 2.0]]), now=100.0)
    ingestor.ingest(headers("r1", "response", when=100.025), v1_response([[0.1, 0.9]]), now=100.1)
    # the response may arrive first (two workers send them)
    ingestor.ingest(headers("r2", "response", when=101.040), v2_response([0], [[0.8, 0.2]]), now=101.0)
    ingestor.ingest(headers("r2", "request", when=101.000), v2_request([[3.0, 4.0]]), now=101.1)
    window = ingestor.windows[KEY]
    assert window.features == ["a", "b"]
    assert window.rows.values().tolist() == [[1, 2], [3, 4]]
    np.testing.assert_allclose(window.latencies.values()[:, 1], [25.0, 40.0], atol=1e-3)
    np.testing.assert_allclose(window.confidences.values()[:, 0], [0.9, 0.8], atol=1e-6)
    assert ingestor.joined == 2 and not ingestor.pending
    assert window.error_rate() == 0.0
    assert window.confidence_counts.sum() == 2


def test_a_request_without_response_is_an_error_after_the_timeout() -> None:
    ingestor = Ingestor(Limits(ttl=5.0))
    ingestor.ingest(headers("ok", "request", when=10.0), v1_request([[1.0]]), now=10.0)
    ingestor.ingest(headers("ok", "response", when=10.01), v1_response([[0.6, 0.4]]), now=10.0)
    ingestor.ingest(headers("lost", "request", when=11.0), v1_request([[2.0]]), now=11.0)
    ingestor.expire(now=15.0)
    assert "lost" in ingestor.pending  # 4 s: still waiting
    ingestor.expire(now=16.5)
    window = ingestor.windows[KEY]
    assert window.errors == 1 and window.error_rate() == 0.5
    assert ingestor.expired["request_timeout"] == 1


def test_request_only_logging_counts_no_errors() -> None:
    ingestor = Ingestor(Limits(ttl=1.0))
    for i in range(5):
        ingestor.ingest(headers(f"r{i}", "request", when=float(i)), v1_request([[1.0]]), now=float(i))
    ingestor.expire(now=100.0)
    assert ingestor.windows[KEY].errors == 0  # a logger in `request` mode sends no responses at all


def test_windows_per_revision_and_a_least_recently_used_limit() -> None:
    ingestor = Ingestor(Limits(max_windows=2), models={"fraud": ModelInfo("fraud")})
    for revision in ("00001", "00002", "00003"):
        pod = f"fraud-predictor-{revision}-deployment-5d8f7c9b4-x7k2p"
        ingestor.ingest(headers(f"id-{revision}", "request", when=1.0, pod=pod), v1_request([[1.0]]), now=1.0)
    assert [k.revision for k in ingestor.windows] == ["fraud-predictor-00002", "fraud-predictor-00003"]


def test_malformed_events_are_counted() -> None:
    ingestor = Ingestor()
    with pytest.raises(MalformedEvent):
        ingestor.ingest(headers("x", "request", when=1.0), b"{]")
    with pytest.raises(MalformedEvent):
        ingestor.ingest(headers("y", "request", when=1.0), b'{"instances": "nope"}')
    assert ingestor.malformed == {"json": 1, "payload": 1}
    assert not ingestor.windows


def test_memory_stays_bounded() -> None:
    limits = Limits(window=500, pending=200, predictions=300, ttl=1e9)
    ingestor = Ingestor(limits)
    request, response = v1_request([[1.0, 2.0, 3.0]]), v1_response([[0.3, 0.7]])

    def feed(start: int, count: int) -> None:
        for i in range(start, start + count):
            ingestor.ingest(headers(f"id-{i}", "request", when=float(i)), request, now=float(i))
            if i % 3:  # a third never gets a response: the pending map must not grow with them
                ingestor.ingest(headers(f"id-{i}", "response", when=i + 0.01), response, now=float(i))

    feed(0, 3000)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    feed(3000, 6000)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    window = ingestor.windows[KEY]
    assert window.rows.size == 500 and window.requests == 9000
    assert len(ingestor.pending) <= 200 and len(ingestor.predictions) <= 300
    assert ingestor.expired["request_overflow"] > 0
    assert grown < 256 * 1024, f"memory grew by {grown} bytes over 6000 more events"


def test_labels_join_predictions_by_id() -> None:
    ingestor = Ingestor()
    ingestor.ingest(headers("a", "request", when=1.0), v1_request([[1.0], [2.0]]), now=1.0)
    ingestor.ingest(headers("a", "response", when=1.01), v1_response([[0.9, 0.1], [0.3, 0.7]]), now=1.0)
    assert ingestor.add_truth("a", [0, 0], value=12.5, now=5.0)
    assert not ingestor.add_truth("a", [0, 0], value=None)  # a label counts once
    assert not ingestor.add_truth("never-seen", [1], value=None)
    rows = ingestor.windows[KEY].quality.values()
    assert rows[:, 1].tolist() == [0, 1] and rows[:, 2].tolist() == [0, 0] and rows[:, 3].tolist() == [12.5, 12.5]
    with pytest.raises(ValueError):
        ingestor.ingest(headers("b", "request", when=1.0), v1_request([[1.0]]), now=1.0)
        ingestor.ingest(headers("b", "response", when=1.0), v1_response([[0.9, 0.1]]), now=1.0)
        ingestor.add_truth("b", [1, 0], value=None)


def test_a_request_with_other_features_is_refused_not_mixed_in() -> None:
    ingestor = Ingestor(models={"fraud": ModelInfo("fraud", features=("a", "b"))})
    ingestor.ingest(headers("ok", "request", when=1.0), v2_request([[1.0, 2.0]]), now=1.0)
    with pytest.raises(MalformedEvent) as caught:  # three columns for a two-feature model
        ingestor.ingest(headers("bad", "request", when=1.0), v2_request([[1.0, 2.0, 3.0]]), now=1.0)
    assert caught.value.reason == "features"
    unknown = Ingestor()  # no reference: the first request names the features
    unknown.ingest(headers("x", "request", when=1.0), v1_request([[1.0, 2.0]]), now=1.0)
    with pytest.raises(MalformedEvent):
        unknown.ingest(headers("y", "request", when=1.0), v1_request([[1.0, 2.0, 3.0]]), now=1.0)
    assert unknown.windows[KEY].rows.size == 1 and unknown.malformed["features"] == 1
