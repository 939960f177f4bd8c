"""The monitor over HTTP: KServe-shaped CloudEvents in, /metrics, labels and canary samples out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _kserve_events import headers, v1_request, v1_response, v2_request, v2_response

from mlpipex.errors import InputError
from mlpipex.monitor import ModelInfo, MonitorSettings, MonitorSource

httpx = pytest.importorskip("httpx")
parser = pytest.importorskip("prometheus_client.parser")

STABLE = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p"
CANARY = "fraud-predictor-00002-deployment-7c6b5d4f3-q9w8e"


def settings(tmp_path: Path, **extra: object) -> MonitorSettings:
    models = {"fraud": ModelInfo("fraud", features=("amount", "age"), sla_ms={"p99": 50.0})}
    return MonitorSettings(state_dir=tmp_path / "state", models=models, schedule_seconds=3600, **extra)  # type: ignore[arg-type]


def post_pair(client: httpx.Client, event_id: str, *, v2: bool, latency: float, pod: str = STABLE,
              row: tuple[float, float] = (10.0, 40.0), proba: float = 0.8) -> None:  # fmt: skip
    start = time.time()
    request = v2_request([list(row)]) if v2 else v1_request([list(row)])
    response = v2_response([1], [[1 - proba, proba]]) if v2 else v1_response([[1 - proba, proba]])
    r1 = client.post("/", headers=headers(event_id, "request", when=start, pod=pod), content=request)
    r2 = client.post("/", headers=headers(event_id, "response", when=start + latency, pod=pod), content=response)
    assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)


def metrics(client: httpx.Client) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in parser.text_string_to_metric_families(response.text):  # Prometheus's own parser
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_v1_and_v2_events_over_http_fill_windows_and_metrics(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url) as client:
        for i in range(40):
            post_pair(client, f"v1-{i}", v2=False, latency=0.010 + i * 0.0005, proba=0.55 + i * 0.01)
            post_pair(client, f"v2-{i}", v2=True, latency=0.020, proba=0.97)
        found = metrics(client)
        windows = client.get("/api/v1/windows").json()["windows"]
    [window] = windows
    assert window["key"]["revision"] == "fraud-predictor-00001" and window["features"] == ["amount", "age"]
    assert (window["requests"], window["responses"], window["samples"], window["errors"]) == (80, 80, 80, 0)
    by_type = {labels["type"]: value for labels, value in found["mlpipex_monitor_events_total"]}
    assert by_type == {"request": 80, "response": 80}
    assert found["mlpipex_monitor_joins_total"][0][1] == 80
    quantiles = {labels["quantile"]: value for labels, value in found["mlpipex_monitor_latency_seconds"]}
    assert set(quantiles) == {"0.5", "0.95", "0.99"}
    assert 0.010 <= quantiles["0.5"] <= 0.030 and quantiles["0.99"] <= 0.031  # seconds, the base unit
    assert found["mlpipex_monitor_latency_seconds_count"][0][1] == 80
    assert found["mlpipex_monitor_latency_seconds_sum"][0][1] == pytest.approx(40 * 0.020 + sum(0.010 + i * 0.0005 for i in range(40)), rel=1e-3)
    buckets = {labels["le"]: value for labels, value in found["mlpipex_monitor_confidence_bucket"]}
    assert buckets["+Inf"] == 80 and buckets["0.5"] == 0
    assert buckets["0.99"] - buckets["0.95"] == 40  # every v2 answer at 0.97
    assert found["mlpipex_monitor_error_ratio"][0][1] == 0.0


def test_malformed_events_get_400_are_counted_and_the_service_stays_up(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    good = headers("ok-1", "request", when=time.time())
    cases = [
        ({**good, "ce-type": "com.example.unrelated"}, v1_request([[1, 2]])),
        ({k: v for k, v in good.items() if k != "ce-specversion"}, v1_request([[1, 2]])),
        (good, b"{truncated"),
        (good, b'{"instances": 5}'),
        (good, b'{"inputs": [{"name": "f", "shape": [2, 2], "datatype": "FP32", "data": [1]}]}'),
        ({**good, "ce-time": "half past nine"}, v1_request([[1, 2]])),
        (good, b"\x00\xff" * 100),
    ]
    with httpx.Client(base_url=server.url) as client:
        for head, body in cases:
            response = client.post("/events", headers=head, content=body)
            assert response.status_code == 400, body
            assert response.json()["error"]
        post_pair(client, "after", v2=True, latency=0.01)
        assert client.get("/healthz").json()["status"] == "ok"
        malformed = metrics(client)["mlpipex_monitor_malformed_events_total"]
    assert sum(value for _, value in malformed) == len(cases)
    assert {labels["reason"] for labels, _ in malformed} >= {"type", "specversion", "json", "payload", "time"}


def test_labels_posted_later_join_by_request_id(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url) as client:
        for i in range(5):
            post_pair(client, f"req-{i}", v2=True, latency=0.01)
        reply = client.post("/api/v1/labels", json={"items": [{"id": f"req-{i}", "label": i % 2, "value": 10.0}
                                                               for i in range(5)] + [{"id": "unknown", "label": 1}]})  # fmt: skip
        assert reply.status_code == 200 and reply.json() == {"joined": 5, "unknown": ["unknown"]}
        assert client.post("/api/v1/labels", json={"id": "req-0", "label": "yes"}).status_code == 400
        assert client.post("/api/v1/labels", json=[1, 2]).status_code == 400
    window = next(iter(server.monitor.ingestor.windows.values()))
    assert window.quality.values()[:, 2].tolist() == [0, 1, 0, 1, 0]


def test_canary_samples_per_revision_through_the_metrics_source(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url) as client:
        for i in range(30):
            post_pair(client, f"s-{i}", v2=True, latency=0.010, pod=STABLE)
        for i in range(20):
            post_pair(client, f"c-{i}", v2=True, latency=0.030, pod=CANARY)
    source = MonitorSource(server.url)
    stable = source.samples(namespace="ml", service="fraud", role="stable", metric="latency_p95")
    canary = source.samples(namespace="ml", service="fraud", role="canary", metric="latency_p95")
    assert stable.size == 30 and canary.size == 20
    np.testing.assert_allclose(stable, 10.0, atol=0.01)
    np.testing.assert_allclose(canary, 30.0, atol=0.01)
    errors = source.samples(namespace="ml", service="fraud", role="canary", metric="error_rate")
    assert errors.tolist() == [0.0, 0.0]  # 20 requests in runs of 10
    with pytest.raises(InputError):
        source.samples(namespace="ml", service="fraud", role="canary", metric="throughput")

    from mlpipex.config.model import CanaryConfig, CanaryMetric
    from mlpipex.kserve.analysis import analyse
    from mlpipex.stats.canary import Action

    config = CanaryConfig(metrics=[CanaryMetric(name="latency_p95", margin=0.1)], min_samples=15)
    decision = analyse(config, source, namespace="ml", service="fraud", failures_so_far=0)
    assert decision.action is Action.ROLLBACK  # the canary is 3x slower


def test_dashboard_page_draws_charts(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url) as client:
        for i in range(30):
            post_pair(client, f"d-{i}", v2=True, latency=0.01 + 0.001 * i)
        page = client.get("/dashboard")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'data-model="ml/fraud"' in page.text
    assert 'class="series"' in page.text and 'data-threshold="SLA p99"' in page.text


def test_events_built_by_the_cloudevents_sdk_are_accepted(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    """An independent implementation of binary mode (the CloudEvents Python SDK) checks both sides."""
    sdk = pytest.importorskip("cloudevents.http")
    conversion = pytest.importorskip("cloudevents.conversion")
    server = serve_monitor(settings(tmp_path))
    now = time.time()
    common = {"source": STABLE, "id": "sdk-1", "inferenceservicename": "fraud", "namespace": "ml",
              "component": "predictor", "endpoint": "default", "metadata": "{}"}  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        for kind, data, when in (("request", {"instances": [[12.0, 33.0]]}, now),
                                 ("response", {"predictions": [[0.25, 0.75]]}, now + 0.015)):  # fmt: skip
            event = sdk.CloudEvent({**common, "type": f"org.kubeflow.serving.inference.{kind}",
                                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1e9):09d}Z"},
                                   data)  # fmt: skip
            head, body = conversion.to_binary(event)
            assert client.post("/", headers={**head, "content-type": "application/json"}, content=body).status_code == 200
    [window] = server.monitor.ingestor.windows.values()
    assert window.rows.values().tolist() == [[12.0, 33.0]]
    np.testing.assert_allclose(window.latencies.values()[:, 1], [15.0], atol=0.01)
    # and the test's own KServe-shaped events are valid CloudEvents for the SDK
    parsed = sdk.from_http(headers("mine", "request", when=now), v1_request([[1, 2]]))
    assert parsed["type"] == "org.kubeflow.serving.inference.request" and parsed["inferenceservicename"] == "fraud"
