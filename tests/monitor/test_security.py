"""The monitor attacked from outside (issue 12, items 6 and 9): each attack fails, and memory is measured.

Memory is measured twice: what the monitor accounts for (``Ingestor.state_bytes``, the
ring buffers and kept predictions) and the process's resident set (the server runs
in this process), so an allocation the accounting misses still shows.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _kserve_events import headers, v1_request, v1_response, v2_request

from mlpipex.errors import ConfigError
from mlpipex.monitor import Ingestor, Limits, ModelInfo, MonitorSettings
from mlpipex.monitor._auth import MonitorAuth, Token, load_auth, presented_token

httpx = pytest.importorskip("httpx")

INGEST = "ingest-token-0123456789abcdef"
LABELS = "labels-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
FRAUD_ONLY = "fraud-only-token-0123456789ab"
AUTH = MonitorAuth((Token.of("kserve", INGEST, frozenset({"ingest"})), Token.of("labeller", LABELS, frozenset({"labels"})),
                    Token.of("dashboard", READER, frozenset({"read"})),
                    Token.of("kserve-fraud", FRAUD_ONLY, frozenset({"ingest"}), frozenset({"fraud"}))))  # fmt: skip
MiB = 1 << 20


def settings(tmp_path: Path, auth: MonitorAuth = AUTH, **limits: Any) -> MonitorSettings:
    models = {"fraud": ModelInfo("fraud", features=("amount", "age"))}
    return MonitorSettings(state_dir=tmp_path / "state", models=models, schedule_seconds=3600, auth=auth,
                           limits=Limits(**limits))  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_84_byte_event_declaring_a_huge_shape_allocates_nothing(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    body = json.dumps({"inputs": [{"name": "x", "shape": [10000, 3000], "datatype": "BYTES", "data": []}]},
                      separators=(",", ":")).encode()  # fmt: skip
    assert len(body) < 90
    before = rss()
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:
        for i in range(5):  # for a known model and for new unknown names each time
            service = "fraud" if i == 0 else f"attack-{i}"
            reply = client.post("/events", headers=headers(f"big-{i}", "request", when=time.time(), service=service),
                                content=body)  # fmt: skip
            assert reply.status_code == 400 and "0 values for shape [10000, 3000]" in reply.json()["error"]
    grown = rss() - before
    assert server.monitor.ingestor.state_bytes() < MiB and not server.monitor.ingestor.windows
    assert grown < 64 * MiB, f"RSS grew by {grown / MiB:.0f} MiB"  # one such event used to keep 229 MiB
    print(f"5 events declaring [10000, 3000]: RSS +{grown / MiB:.1f} MiB, "
          f"accounted {server.monitor.ingestor.state_bytes()} bytes")  # fmt: skip


def test_wide_requests_for_unknown_models_are_refused_and_memory_follows_what_was_sent(tmp_path: Path,
                                                                                       serve_monitor) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:
        wide = client.post("/events", headers=headers("w", "request", when=time.time(), service="other"),
                           content=v2_request([[1.0] * 3000]))  # fmt: skip
        assert wide.status_code == 400 and wide.json()["reason"] == "features"
        narrow = client.post("/events", headers=headers("n", "request", when=time.time(), service="other"),
                             content=v2_request([[1.0] * 200]))  # fmt: skip
        assert narrow.status_code == 200
    # one row of 200 features: the window holds a small buffer, not 10,000 rows of 200
    assert server.monitor.ingestor.state_bytes() < 2 * MiB


def test_a_flood_of_unknown_models_never_evicts_the_configured_one(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:
        for i in range(3):
            assert client.post("/events", headers=headers(f"f{i}", "request", when=time.time()),
                               content=v1_request([[10.0, 40.0]])).status_code == 200  # fmt: skip
        for i in range(300):
            reply = client.post("/events", headers=headers(f"u{i}", "request", when=time.time(), service=f"name-{i}"),
                                content=v1_request([[1.0] * 50]))  # fmt: skip
            assert reply.status_code == 200
    ingestor = server.monitor.ingestor
    fraud = [w for w in ingestor.windows.values() if w.key.service == "fraud"]
    assert len(fraud) == 1 and fraud[0].requests == 3
    assert len(ingestor.windows) == 1 + Limits().unknown_windows
    assert ingestor.state_bytes() < 4 * MiB


def test_made_up_revisions_of_one_model_evict_only_that_models_windows() -> None:
    models = {name: ModelInfo(name) for name in ("fraud", "payments")}
    ingestor = Ingestor(Limits(max_windows=20, revisions=4), models)
    ingestor.ingest(headers("p", "request", when=1.0, service="payments"), v1_request([[1.0]]), now=1.0)
    for i in range(100):  # a holder of fraud's token inventing pods
        pod = f"fraud-predictor-{i:05d}-deployment-5d8f7c9b4-x7k2p"
        ingestor.ingest(headers(f"f{i}", "request", when=2.0, pod=pod), v1_request([[1.0]]), now=2.0)
    services = [k.service for k in ingestor.windows]
    assert services.count("payments") == 1 and services.count("fraud") == 4


def test_unknown_models_can_be_refused_altogether(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path, unknown_windows=0))
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:
        reply = client.post("/events", headers=headers("u", "request", when=time.time(), service="stranger"),
                            content=v1_request([[1.0]]))  # fmt: skip
        assert reply.status_code == 400 and reply.json()["reason"] == "unknown_model"
        assert client.post("/events", headers=headers("k", "request", when=time.time()),
                           content=v1_request([[1.0, 2.0]])).status_code == 200  # fmt: skip


def _post_raw(port: int, head: str, chunks: int, chunk: bytes) -> tuple[int, int]:
    """Send ``head`` then up to ``chunks`` chunks, stopping when the server answers; (status, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        for _ in range(chunks):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split()[1]), sent


def test_an_over_size_body_is_refused_while_streaming_before_it_is_read(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    event = "".join(f"{k}: {v}\r\n" for k, v in headers("huge", "request", when=time.time()).items())
    common = f"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n{event}"
    chunk = b"[" + b"1," * (512 * 1024 - 1) + b"1"  # 1 MiB of a JSON-ish body
    # a declared 200 MB: refused at once, not one body byte needed
    status, sent = _post_raw(server.port, common + f"Content-Length: {200 * MiB}\r\n\r\n", 200, chunk)
    assert status == 413 and sent < 32 * MiB
    # no length declared (chunked): refused once 8 MiB have arrived, while the sender still sends
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    status, sent = _post_raw(server.port, common + "Transfer-Encoding: chunked\r\n\r\n", 200, framed)
    assert status == 413 and sent < 40 * MiB, f"{sent / MiB:.0f} MiB were sent before the answer"
    print(f"chunked 200 MB body: 413 after {sent / MiB:.0f} MiB sent (socket buffers included)")
    assert server.monitor.ingestor.malformed["size"] == 2


def test_endpoints_need_the_right_token(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    event = headers("a-1", "request", when=time.time())
    with httpx.Client(base_url=server.url) as client:
        for auth in ({}, bearer("wrong-token-0123456789abcdef"), {"authorization": "Bearer"},
                     {"authorization": "Basic !!!"}, {"authorization": INGEST}):  # fmt: skip
            reply = client.post("/events", headers={**event, **auth}, content=v1_request([[1.0, 2.0]]))
            assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Bearer")
        assert client.post("/", headers={**event, **bearer(LABELS)}, content=v1_request([[1.0, 2.0]])).status_code == 403
        other = headers("b-1", "request", when=time.time(), service="payments")
        assert client.post("/events", headers={**other, **bearer(FRAUD_ONLY)},
                           content=v1_request([[1.0, 2.0]])).status_code == 403  # fmt: skip
        assert not server.monitor.ingestor.windows  # nothing refused reached a window
        assert client.post("/events", headers={**event, **bearer(FRAUD_ONLY)},
                           content=v1_request([[1.0, 2.0]])).status_code == 200  # fmt: skip
        # KServe's logger: a URL with user info (http://kserve:TOKEN@monitor/events) is sent as Basic auth by Go
        basic = "Basic " + base64.b64encode(f"kserve:{INGEST}".encode()).decode()
        assert client.post("/events", headers={**event, "ce-id": "a-2", "authorization": basic},
                           content=v1_request([[1.0, 2.0]])).status_code == 200  # fmt: skip
        assert client.post("/events", headers={**event, "ce-id": "a-2", "ce-type": "org.kubeflow.serving.inference.response",
                           **bearer(INGEST)}, content=v1_response([[0.2, 0.8]])).status_code == 200  # fmt: skip

        labels = {"id": "a-2", "label": 1}
        assert client.post("/api/v1/labels", json=labels).status_code == 401
        assert client.post("/api/v1/labels", json=labels, headers=bearer(INGEST)).status_code == 403
        assert client.post("/api/v1/labels", json=labels, headers=bearer(LABELS)).json()["joined"] == 1

        for path in ("/api/v1/windows", "/api/v1/samples?namespace=ml&service=fraud&role=stable&metric=latency_p95"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers=bearer(INGEST)).status_code == 403
            assert client.get(path, headers=bearer(READER)).status_code == 200
        page = client.get("/dashboard")
        assert page.status_code == 401 and page.headers["www-authenticate"].startswith("Basic")  # a browser asks
        assert client.get("/dashboard", auth=("anyone", READER)).status_code == 200
        assert client.get("/metrics").status_code == 200 and client.get("/healthz").status_code == 200
        refused = {line.split()[0]: float(line.split()[1]) for line in client.get("/metrics").text.splitlines()
                   if line.startswith("mlpipex_monitor_refused_requests_total")}  # fmt: skip
        assert refused['mlpipex_monitor_refused_requests_total{reason="unauthenticated"}'] == 9
        assert refused['mlpipex_monitor_refused_requests_total{reason="forbidden"}'] == 5


def test_metrics_can_require_a_token(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    scraper = Token.of("prometheus", "scrape-token-0123456789abcdef", frozenset({"metrics"}))
    server = serve_monitor(settings(tmp_path, auth=MonitorAuth((scraper,), open_metrics=False)))
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("scrape-token-0123456789abcdef")).status_code == 200
        assert client.get("/healthz").status_code == 200  # probes stay open


def test_a_v1_request_with_none_of_the_models_features_is_400(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    server = serve_monitor(settings(tmp_path))
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:
        reply = client.post("/events", headers=headers("n-1", "request", when=time.time()),
                            content=json.dumps({"instances": [{"colour": "red", "size": 3}]}).encode())  # fmt: skip
        assert reply.status_code == 400 and reply.json()["reason"] == "features"
        assert "none of the model's features ['amount', 'age']" in reply.json()["error"]
        named = json.dumps({"inputs": [{"name": "colour", "shape": [1], "datatype": "FP32", "data": [1.0]}]}).encode()
        assert client.post("/events", headers=headers("n-2", "request", when=time.time()), content=named).status_code == 400
        partial = client.post("/events", headers=headers("n-3", "request", when=time.time()),
                              content=json.dumps({"instances": [{"amount": 5.0}]}).encode())  # fmt: skip
        assert partial.status_code == 200  # a missing feature is NaN; none at all is not the model's input
    [window] = server.monitor.ingestor.windows.values()
    assert window.requests == 1 and window.rows.size == 1


def test_kept_predictions_are_bounded_in_bytes() -> None:
    ingestor = Ingestor(Limits(prediction_bytes=MiB, prediction_rows=5000))
    probabilities = v1_response([[0.3, 0.7]] * 2000)
    for i in range(200):  # 200 answers of 2,000 rows: 3 MiB of predictions if all were kept
        ingestor.ingest(headers(f"p{i}", "response", when=float(i)), probabilities, now=float(i))
    assert ingestor.prediction_bytes <= MiB and len(ingestor.predictions) < 200
    assert ingestor.add_truth("p199", [1.0] * 2000, None, now=300.0)  # the newest are kept for their labels
    huge = v1_response([[0.3, 0.7]] * 6000)
    ingestor.ingest(headers("batch", "response", when=1.0), huge, now=400.0)
    assert "batch" not in ingestor.predictions  # a batch beyond prediction_rows is not kept row by row


def test_tokens_file_and_constant_time_identification(tmp_path: Path) -> None:
    secret = tmp_path / "fraud.token"
    secret.write_text(FRAUD_ONLY + "\n")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"- name: kserve-fraud\n  token_file: {secret.name}\n  scopes: [ingest]\n  services: [fraud]\n"
                      "- name: labels\n  token_env: LABELS_TOKEN\n  scopes: [labels]\n")  # fmt: skip
    auth = load_auth(str(tokens), environ={"LABELS_TOKEN": LABELS, "MLPIPEX_MONITOR_TOKEN": READER})
    assert [t.name for t in auth.tokens] == ["env", "kserve-fraud", "labels"]
    assert auth.identify(FRAUD_ONLY).name == "kserve-fraud" and auth.identify(FRAUD_ONLY[:-1]) is None  # type: ignore[union-attr]
    assert FRAUD_ONLY not in repr(auth)  # secrets never in logs or reprs
    assert presented_token("Basic " + base64.b64encode(b"u:" + LABELS.encode()).decode()) == LABELS
    tokens.write_text("- name: weak\n  token: short\n")
    with pytest.raises(ConfigError) as weak:
        load_auth(str(tokens), environ={})
    assert "tokens.yaml:1" in str(weak.value) and "token_urlsafe" in str(weak.value)
    tokens.write_text(f"- name: a\n  token: {INGEST}\n- name: b\n  token: {LABELS}\n  scopes: [write]\n")
    with pytest.raises(ConfigError) as scope:
        load_auth(str(tokens), environ={})
    assert "tokens.yaml:3" in str(scope.value) and "scopes must be" in str(scope.value)


def test_the_canary_analysis_reads_a_protected_monitor_with_its_token(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    from mlpipex.errors import InputError
    from mlpipex.monitor import MonitorSource

    server = serve_monitor(settings(tmp_path))
    query = {"namespace": "ml", "service": "fraud", "role": "stable", "metric": "latency_p95"}
    assert MonitorSource(server.url, token=READER).samples(**query).size == 0
    with pytest.raises(InputError) as refused:
        MonitorSource(server.url, token="").samples(**query)
    assert "HTTP 401" in str(refused.value) and "MLPIPEX_MONITOR_TOKEN" in str(refused.value)


def test_serve_refuses_to_listen_beyond_loopback_without_tokens(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from mlpipex.commands import monitor as command
    from mlpipex.monitor._journal import SYNC_POLICIES

    assert command.SYNC_POLICIES == SYNC_POLICIES and Limits().unknown_windows == command.UNKNOWN_WINDOWS
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPIPEX_MONITOR_TOKEN")}
    base = [sys.executable, "-m", "mlpipex", "monitor", "serve", "--state", str(tmp_path / "state")]
    result = subprocess.run([*base, "--host", "0.0.0.0"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2 and "--tokens FILE" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "tokens.yaml").write_text("- name: k\n  token_file: missing.token\n")
    result = subprocess.run([*base, "--tokens", "tokens.yaml"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2 and "tokens.yaml:1" in result.stderr and "missing.token" in result.stderr
    assert "Traceback" not in result.stderr


def test_kserves_own_logger_authenticates_with_a_token_in_its_url(tmp_path: Path, serve_monitor,  # type: ignore[no-untyped-def]
                                                                  kserve_logger: Path) -> None:  # fmt: skip
    """KServe's pkg/logger cannot add headers; Go's net/http sends a URL's user info as Basic auth."""
    import subprocess

    server = serve_monitor(settings(tmp_path))
    host = server.url.removeprefix("http://")

    def send(url: str, prefix: str, service: str = "fraud") -> list[str]:
        result = subprocess.run([str(kserve_logger), "-url", url, "-n", "5", "-id-prefix", prefix, "-service", service],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        return sorted(line.split()[1] for line in result.stdout.splitlines())

    assert send(f"http://{host}/events", "anonymous") == ["401"] * 10
    assert send(f"http://kserve:wrong-token-0123456789@{host}/events", "wrong") == ["401"] * 10
    assert send(f"http://kserve:{FRAUD_ONLY}@{host}/events", "other", service="payments") == ["403"] * 10
    assert not server.monitor.ingestor.windows
    assert send(f"http://kserve:{FRAUD_ONLY}@{host}/events", "fraud") == ["200"] * 10
    [window] = server.monitor.ingestor.windows.values()
    assert (window.requests, window.responses) == (5, 5)  # v1 dict-less rows: features by position


def test_many_slow_senders_cannot_make_the_monitor_buffer_more_than_its_budget(tmp_path: Path,
                                                                               serve_monitor) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    server = serve_monitor(settings(tmp_path, inflight_bytes=2 * MiB))
    event = "".join(f"{k}: {v}\r\n" for k, v in headers("slow", "request", when=time.time()).items())
    head = f"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n{event}Transfer-Encoding: chunked\r\n\r\n"

    def chunk(size: int) -> bytes:
        return f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"

    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    slow.sendall(head.encode() + chunk(1536 * 1024))  # 1.5 MiB, and the sender stalls
    time.sleep(0.5)
    status, _ = _post_raw(server.port, head, 1, chunk(MiB))  # a second one passes the 2 MiB budget
    assert status == 503
    slow.sendall(b"0\r\n\r\n")
    slow.settimeout(10)
    assert b" 400 " in slow.recv(4096)  # finished: judged on its content (not JSON), not refused as busy
    slow.close()
    with httpx.Client(base_url=server.url, headers=bearer(INGEST)) as client:  # the budget is free again
        assert client.post("/events", headers=headers("after", "request", when=time.time()),
                           content=v1_request([[1.0, 2.0]])).status_code == 200  # fmt: skip
