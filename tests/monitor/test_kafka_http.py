"""The HTTP endpoint in Kafka mode writes to the payload topic, and the group builds the windows (issue 22, item 2).

One path does the work: an event posted over HTTP (by KServe's own logger, too) becomes a
binary-mode record keyed by its revision, which the partition's owner applies like any
record a KafkaSink wrote.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from _kserve_events import headers, v2_request, v2_response

from mlpipex.monitor import Limits, ModelInfo, MonitorSettings
from mlpipex.monitor._kafka import SECURITY_PROTOCOLS, KafkaSettings, merged_windows, read_state

ck = pytest.importorskip("confluent_kafka")
httpx = pytest.importorskip("httpx")


def _kafka(broker: Any, partitions: int = 2) -> KafkaSettings:
    name = f"http-{uuid.uuid4().hex[:8]}"
    return KafkaSettings(broker.bootstrap, topic=name, group=f"{name}-monitor", partitions=partitions,
                         checkpoint_seconds=0.3)  # fmt: skip


def _records(kafka: KafkaSettings, count: int, timeout: float = 30) -> list[Any]:
    consumer = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                            "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([kafka.topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                out.append(message)
    finally:
        consumer.close()
    return out


def _counted(kafka: KafkaSettings, want: tuple[int, int], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        windows = merged_windows(read_state(kafka))
        if windows and (windows[0].requests, windows[0].responses) == want:
            return windows
        time.sleep(0.3)
    raise AssertionError(f"the group did not count {want} in {timeout:.0f} s: {[(w.requests, w.responses) for w in windows]}")


def test_posted_events_go_through_the_topic_keyed_by_revision(kafka_broker: Any, tmp_path: Path,
                                                              serve_monitor) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    kafka = _kafka(kafka_broker)
    settings = MonitorSettings(state_dir=tmp_path / "state", models={"fraud": ModelInfo("fraud", features=("a", "b"))},
                               limits=Limits(window=1000))  # fmt: skip
    server = serve_monitor(settings, kafka=kafka)
    with httpx.Client(base_url=server.url) as client:
        for i in range(10):
            now = time.time()
            sent = client.post("/events", headers=headers(f"h-{i}", "request", when=now), content=v2_request([[1.0, 2.0]]))
            assert sent.status_code == 200, sent.text
            answered = client.post("/", headers=headers(f"h-{i}", "response", when=now + 0.01),
                                   content=v2_response([1], [[0.3, 0.7]]))  # fmt: skip
            assert answered.status_code == 200
        bad = client.post("/events", headers={**headers("bad", "request", when=now), "ce-specversion": "0.3"},
                          content=b"{}")  # fmt: skip
        assert bad.status_code == 400 and bad.json()["reason"] == "specversion"  # refused before the topic
        labels = client.post("/api/v1/labels", json={"id": "h-1", "label": 1})
        assert labels.status_code == 501 and "Kafka mode" in labels.json()["error"]
        [window] = _counted(kafka, (10, 10))
        health = client.get("/healthz").json()["kafka"]
        listed = client.get("/api/v1/windows").json()
    [owned] = [ws for ws in listed["partitions"].values() if ws]  # one revision: one partition holds it
    assert owned[0]["requests"] == 10 and owned[0]["key"]["revision"] == "fraud-predictor-00001"
    assert window.samples == 10
    assert health["topic"] == kafka.topic and health["leader"] is True and sorted(health["partitions"]) == ["0", "1"]
    records = _records(kafka, 20)
    assert len(records) == 20  # the refused event was never produced
    assert {r.key() for r in records} == {b"ml/fraud/predictor/fraud-predictor-00001"}
    assert len({r.partition() for r in records}) == 1  # one revision, one partition
    assert dict(records[0].headers())["ce_specversion"] == b"1.0"


def test_kserves_own_logger_posts_into_the_topic(kafka_broker: Any, tmp_path: Path, serve_monitor,  # type: ignore[no-untyped-def]
                                                 kserve_logger: Path) -> None:  # fmt: skip
    kafka = _kafka(kafka_broker, partitions=3)
    server = serve_monitor(MonitorSettings(state_dir=tmp_path / "state", limits=Limits(window=1000)), kafka=kafka)
    result = subprocess.run([str(kserve_logger), "-url", f"{server.url}/events", "-n", "25", "-id-prefix", "go",
                             "-service", "fraud"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted({line.split()[1] for line in result.stdout.splitlines()}) == ["200"]
    [window] = _counted(kafka, (25, 25))
    assert window.key.service == "fraud"


def test_the_cli_offers_the_security_protocols_the_client_takes() -> None:
    from mlpipex.commands import monitor as command

    assert command.KAFKA_PROTOCOLS == SECURITY_PROTOCOLS


def test_sasl_without_a_password_is_a_clear_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpipex.errors import InputError

    monkeypatch.delenv("MLPIPEX_KAFKA_PASSWORD", raising=False)
    settings = KafkaSettings("kafka:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                             sasl_username="monitor", ssl_ca="/etc/kafka/ca.crt")  # fmt: skip
    with pytest.raises(InputError, match="MLPIPEX_KAFKA_PASSWORD"):
        settings.client_config()
    monkeypatch.setenv("MLPIPEX_KAFKA_PASSWORD", "s3cret-value")
    config = settings.client_config()
    assert config["sasl.password"] == "s3cret-value" and config["ssl.ca.location"] == "/etc/kafka/ca.crt"
    with pytest.raises(InputError, match="SASL needs a mechanism"):
        KafkaSettings("kafka:9093", security_protocol="SASL_SSL")


def _serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "-m", "mlpipex", "monitor", "serve", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_bad_kafka_flags_exit_2_naming_the_fix(tmp_path: Path) -> None:
    sasl = _serve("--kafka-bootstrap", "127.0.0.1:9", "--kafka-security-protocol", "SASL_SSL", cwd=tmp_path)
    assert sasl.returncode == 2 and "SASL needs a mechanism" in sasl.stderr and "Traceback" not in sasl.stderr
    group = _serve("--kafka-bootstrap", "127.0.0.1:9", "--kafka-group", "team a/monitor", cwd=tmp_path)
    assert group.returncode == 2 and "--kafka-group" in group.stderr and "Traceback" not in group.stderr


def test_unreachable_brokers_exit_3_saying_so(tmp_path: Path) -> None:
    from _kserve_events import free_port

    result = _serve("--kafka-bootstrap", f"127.0.0.1:{free_port()}", cwd=tmp_path)  # nothing listens there
    assert result.returncode == 3 and "cannot reach the Kafka brokers" in result.stderr
    assert "Traceback" not in result.stderr and "--kafka-bootstrap" in result.stderr  # the fix names the flag


def test_monitor_serve_with_kafka_flags_is_a_replica_of_the_group(kafka_broker: Any, tmp_path: Path) -> None:
    import signal
    import sys

    from _kserve_events import free_port

    kafka = _kafka(kafka_broker, partitions=2)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mlpipex", "monitor", "serve", "--port", str(port), "--state",
                                "state", "--kafka-bootstrap", kafka.bootstrap, "--kafka-topic", kafka.topic,
                                "--kafka-group", kafka.group, "--kafka-partitions", "2"], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health: dict[str, Any] = {}
        while time.monotonic() < deadline and sorted(health.get("kafka", {}).get("partitions", {})) != ["0", "1"]:
            with contextlib.suppress(httpx.HTTPError):  # not listening yet
                health = httpx.get(f"{url}/healthz", timeout=1).json()
            time.sleep(0.3)
        assert health["kafka"]["group"] == kafka.group and health["kafka"]["leader"] is True
        now = time.time()
        assert httpx.post(f"{url}/events", headers=headers("cli-1", "request", when=now),
                          content=v2_request([[1.0, 2.0]])).status_code == 200  # fmt: skip
        while time.monotonic() < deadline and httpx.get(f"{url}/healthz").json()["kafka"]["consumed"] < 1:
            time.sleep(0.2)
        assert httpx.get(f"{url}/healthz").json()["kafka"]["consumed"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err
    [window] = merged_windows(read_state(kafka))  # a clean stop checkpoints what it applied
    assert window.requests == 1
