"""The logger URL's revision marker: how the monitor tells a canary's events from the stable's on a real KServe.

KServe v0.20.0's agent sends ``ce-source: http://localhost:9081/`` and an empty ``ce-endpoint``
from every Standard-mode pod (its pod webhook passes ``--source-uri <pod name>`` before a
ReplicaSet's pod has one, and ``--endpoint`` from a label Standard mode never sets), so
mlpipex writes each predictor its own ``logger.url`` with ``?revision=<predictor name>``
(mlpipex.kserve.manifests.logger_url) and the monitor keys the windows by it. Here KServe's
own logger code (pkg/logger v0.20.0) posts, as the agent does, to a real ``mlpipex monitor
serve`` through two such URLs, each with the predictor's ingest token in its user info.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _kserve_events import free_port, headers, v1_request, v2_request, v2_response, wait_until

from mlpipex.monitor import Ingestor, Limits, ModelInfo

httpx = pytest.importorskip("httpx")

INGEST = "fraud-ingest-token-0123456789abcdef"
READ = "analysis-read-token-0123456789abcdef"
STABLE, CANARY = "rev-aaaaaaaaaa", "rev-bbbbbbbbbb"
AGENT_SOURCE = "http://localhost:9081/"  # what v0.20.0's agent falls back to for the empty --source-uri
REVISIONS = {"canary": CANARY, "stable": STABLE}


def _serve(cwd: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPIPEX_MONITOR_TOKEN")}
    return subprocess.Popen([sys.executable, "-m", "mlpipex", "monitor", "serve", "--port", str(port), "--state", "state",
                             "--tokens", "tokens.yaml", "--schedule", "1h"], cwd=cwd, env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _windows(url: str) -> dict[str, tuple[int, int, str]]:
    reply = httpx.get(f"{url}/api/v1/windows", headers={"authorization": f"Bearer {READ}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return {w["key"]["revision"]: (w["requests"], w["responses"], w["endpoint"]) for w in reply.json()["windows"]}


def test_kserves_own_logger_marks_each_predictors_events_through_its_url(tmp_path: Path, kserve_logger: Path) -> None:
    from mlpipex.config.model import CanaryConfig, CanaryMetric
    from mlpipex.kserve.analysis import analyse
    from mlpipex.monitor import MonitorSource
    from mlpipex.stats.canary import Action

    (tmp_path / "fraud.token").write_text(INGEST)
    (tmp_path / "read.token").write_text(READ)
    (tmp_path / "tokens.yaml").write_text(
        "- name: kserve-fraud\n  token_file: fraud.token\n  scopes: [ingest]\n  services: [fraud]\n"
        "- name: canary-analysis\n  token_file: read.token\n  scopes: [read]\n")  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def agent(query: str, count: int, latency_ms: int, prefix: str) -> list[str]:
        """KServe's logger as the agent runs it in a Standard-mode pod: no pod name, no endpoint."""
        target = f"http://kserve:{INGEST}@127.0.0.1:{port}/events{query}"
        result = subprocess.run([str(kserve_logger), "-url", target, "-n", str(count), "-id-prefix", prefix,
                                 "-service", "fraud", "-source", AGENT_SOURCE, "-endpoint", "",
                                 "-latency-ms", str(latency_ms)], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        return sorted({line.split()[1] for line in result.stdout.splitlines()})

    process = _serve(tmp_path, port)
    try:
        assert wait_until(up, timeout=60), process.stderr.read1().decode() if process.stderr else ""  # type: ignore[union-attr]
        # The canary's events arrive first: the rule by age (the newest revision is the canary) would swap them.
        assert agent(f"?revision={CANARY}", 20, 40, "canary") == ["200"]
        assert agent(f"?revision={STABLE}", 30, 10, "stable") == ["200"]
        # Hostile or broken markers are refused, and make no window.
        assert agent("?revision=Rev_A", 2, 0, "bad") == ["400"]
        assert agent(f"?revision={STABLE}&revision={CANARY}", 2, 0, "twice") == ["400"]
        assert agent("?revision=" + "a" * 64, 2, 0, "long") == ["400"]
        # The query reached the monitor, and the windows separate by it (before: one window, `http://localhost:9081`).
        assert _windows(url) == {CANARY: (20, 20, "default"), STABLE: (30, 30, "default")}

        source = MonitorSource(url, token=READ)
        stable = source.samples(namespace="ml", service="fraud", role="stable", metric="latency_p95", revisions=REVISIONS)
        canary = source.samples(namespace="ml", service="fraud", role="canary", metric="latency_p95", revisions=REVISIONS)
        assert (stable.size, canary.size) == (30, 20)
        np.testing.assert_allclose(stable, 10.0, atol=0.01)  # ce-time to ce-time, as the logger stamped them
        np.testing.assert_allclose(canary, 40.0, atol=0.01)
        by_age = source.samples(namespace="ml", service="fraud", role="canary", metric="latency_p95")
        assert by_age.size == 30  # without the names, the guess by age takes the stable for the canary
        settings = CanaryConfig(metrics=[CanaryMetric(name="latency_p95", margin=0.1)], min_samples=15)
        decision = analyse(settings, source, namespace="ml", service="fraud", failures_so_far=0, revisions=REVISIONS)
        assert decision.action is Action.ROLLBACK, decision.reason  # the canary is 4x slower
        refused = httpx.get(f"{url}/api/v1/samples", params={"namespace": "ml", "service": "fraud", "role": "canary",
                            "metric": "latency_p95", "canary_revision": CANARY}, headers={"authorization": f"Bearer {READ}"})  # fmt: skip
        assert refused.status_code == 400 and "go together" in refused.text
    finally:
        process.send_signal(signal.SIGKILL)  # no clean stop: the windows come back from the journal alone
        process.wait(timeout=30)
    process = _serve(tmp_path, port)
    try:
        assert wait_until(up, timeout=60)
        assert _windows(url) == {CANARY: (20, 20, "default"), STABLE: (30, 30, "default")}  # the marker was journaled
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _client(tmp_path: Path, *, hot: bool, revisions: int = 16) -> Any:
    from fastapi.testclient import TestClient

    from mlpipex.monitor import MonitorSettings, create_monitor_app

    settings = MonitorSettings(state_dir=tmp_path / ("hot" if hot else "plain"), schedule_seconds=3600,
                               models={"fraud": ModelInfo("fraud", features=("a", "b"))},
                               limits=Limits(revisions=revisions))  # fmt: skip
    app = create_monitor_app(settings)
    if not hot:
        app.hot_routes.clear()  # FastAPI's route, which serves the same logic
    return TestClient(app)


def _agent_headers(event_id: str, kind: str, **extra: str) -> dict[str, str]:
    return headers(event_id, kind, when=1_800_000_000.0, pod=AGENT_SOURCE, endpoint="") | extra


@pytest.mark.parametrize("hot", [True, False], ids=["hot route", "FastAPI route"])
def test_the_ingest_routes_read_the_marker_and_refuse_malformed_ones(tmp_path: Path, hot: bool) -> None:
    body = v2_request([[1.0, 2.0]])
    with _client(tmp_path, hot=hot) as client:
        for query in ("revision=", "revision=UPPER", "revision=a%2Fb", "revision=-lead", "revision=a..b",
                      f"revision={'a' * 64}", f"revision={STABLE}&revision={STABLE}", "revision=%ZZ"):  # fmt: skip
            reply = client.post(f"/events?{query}", headers=_agent_headers("x", "request"), content=body)
            assert reply.status_code == 400 and reply.json()["reason"] == "revision", (query, reply.text)
        ok = client.post(f"/?tenant=a&revision={STABLE}", headers=_agent_headers("s1", "request"), content=body)
        assert ok.status_code == 200  # other parameters are left alone
        client.post(f"/?revision={STABLE}", headers=_agent_headers("s1", "response"), content=v2_response([1], [[0.2, 0.8]]))
        # The URL outranks an attribute the sender set itself; the attribute alone names the revision too.
        client.post(f"/events?revision={CANARY}", headers=_agent_headers("c1", "request", **{"ce-mlpipexrevision": STABLE}),
                    content=body)  # fmt: skip
        client.post("/events", headers=_agent_headers("h1", "request", **{"ce-mlpipexrevision": "rev-cccccccccc"}), content=body)
        bad = client.post("/events", headers=_agent_headers("h2", "request", **{"ce-mlpipexrevision": "no/slash"}), content=body)
        assert bad.status_code == 400 and bad.json()["reason"] == "revision"
        client.post("/events", headers=_agent_headers("n1", "request"), content=body)  # no marker: ce-source's, as before
        monitor = client.app.state.monitor
        counts = {key.revision: (w.requests, w.responses) for key, w in monitor.ingestor.windows.items()}
        assert counts == {STABLE: (1, 1), CANARY: (1, 0), "rev-cccccccccc": (1, 0), "http://localhost:9081": (1, 0)}
        assert monitor.ingestor.malformed["revision"] == 9


def test_made_up_markers_are_held_by_the_window_caps(tmp_path: Path) -> None:
    from mlpipex.monitor._events import revision_marker

    with _client(tmp_path, hot=True, revisions=4) as client:
        for i in range(40):  # a holder of fraud's ingest token inventing predictors
            reply = client.post(f"/events?revision=rev-{i:010d}", headers=_agent_headers(f"m{i}", "request"),
                                content=v1_request([[1.0, 2.0]]))  # fmt: skip
            assert reply.status_code == 200
        windows = client.app.state.monitor.ingestor.windows
        assert [k.revision for k in windows] == [f"rev-{i:010d}" for i in range(36, 40)]  # the four most recent
    assert revision_marker.cache_info().currsize <= 256  # the parsed queries are bounded too


def test_the_marker_in_the_journal_and_in_kafka_records() -> None:
    from mlpipex.monitor._events import MalformedEvent, source_revision
    from mlpipex.monitor._journal import decode_record, encode_event
    from mlpipex.monitor._kafka_events import from_record, revision_key, to_record

    marked = _agent_headers("k1", "request", **{"ce-mlpipexrevision": CANARY})
    kind, _, (kept, _) = decode_record(encode_event(1.0, marked, b"{}"))
    assert kind == "event" and kept["ce-mlpipexrevision"] == CANARY and source_revision(kept) == CANARY
    legacy = encode_event(1.0, _agent_headers("k2", "request"), b'{"x":\n1}')
    assert legacy[:1] == b"e"  # unmarked events keep the record format journals already hold
    assert decode_record(legacy)[2][1] == b'{"x":\n1}'
    key, record_headers = to_record(marked, b"{}")
    assert key == f"ml/fraud/predictor/{CANARY}".encode() and ("ce_mlpipexrevision", CANARY.encode()) in record_headers
    attributes, _ = from_record(record_headers, b"{}")
    assert source_revision(attributes) == CANARY
    assert revision_key(_agent_headers("k3", "request")) == b"ml/fraud/predictor/http://localhost:9081"
    with pytest.raises(MalformedEvent):
        source_revision({"ce-mlpipexrevision": "x" * 70})


def test_the_stable_without_a_marker_falls_back_and_the_canary_never_borrows() -> None:
    from mlpipex.monitor._canary import role_windows

    ingestor = Ingestor(Limits(), {"fraud": ModelInfo("fraud")})

    def send(event_id: str, now: float, **extra: str) -> None:
        ingestor.ingest(_agent_headers(event_id, "request", **extra), v1_request([[1.0]]), now=now)

    send("old", 1.0, **{"ce-source": "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p"})  # a revision long gone
    send("legacy", 2.0)  # the stable, logging since before mlpipex wrote markers
    assert role_windows(ingestor, "ml", "fraud", "canary", REVISIONS) == []  # nothing of the canary's yet: no guess
    [stable] = role_windows(ingestor, "ml", "fraud", "stable", REVISIONS)
    assert stable.key.revision == "http://localhost:9081"  # the unmarked window that saw traffic last
    send("c", 3.0, **{"ce-mlpipexrevision": CANARY})
    send("s", 4.0, **{"ce-mlpipexrevision": STABLE})
    assert [w.key.revision for w in role_windows(ingestor, "ml", "fraud", "canary", REVISIONS)] == [CANARY]
    assert [w.key.revision for w in role_windows(ingestor, "ml", "fraud", "stable", REVISIONS)] == [STABLE]


def test_the_marker_travels_through_the_kafka_topic(kafka_broker: Any, tmp_path: Path, serve_monitor,  # type: ignore[no-untyped-def]
                                                    kserve_logger: Path) -> None:  # fmt: skip
    """Kafka mode: the HTTP receiver produces the marker as the record header ``ce_mlpipexrevision``, keys the
    record by it, and the partition's owner keys its window by it."""
    from test_kafka_http import _kafka, _records

    from mlpipex.monitor import MonitorSettings
    from mlpipex.monitor._kafka import merged_windows, read_state

    kafka = _kafka(kafka_broker, partitions=3)
    server = serve_monitor(MonitorSettings(state_dir=tmp_path / "state", limits=Limits(window=1000)), kafka=kafka)
    for revision, count in ((STABLE, 6), (CANARY, 4)):
        result = subprocess.run([str(kserve_logger), "-url", f"{server.url}/events?revision={revision}", "-n", str(count),
                                 "-id-prefix", revision, "-service", "fraud", "-source", AGENT_SOURCE, "-endpoint", ""],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0 and {line.split()[1] for line in result.stdout.splitlines()} == {"200"}, result
    records = _records(kafka, 20)
    assert sorted({r.key() for r in records}) == [f"ml/fraud/predictor/{r}".encode() for r in (STABLE, CANARY)]
    assert {dict(r.headers())["ce_mlpipexrevision"] for r in records} == {STABLE.encode(), CANARY.encode()}

    def counted() -> bool:
        return {w.key.revision: (w.requests, w.responses) for w in merged_windows(read_state(kafka))} == \
            {STABLE: (6, 6), CANARY: (4, 4)}  # fmt: skip

    assert wait_until(counted, timeout=60), [(w.key, w.requests) for w in merged_windows(read_state(kafka))]
