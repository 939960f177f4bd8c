"""Monitor replicas in one Kafka consumer group, against a real broker (issue 22, items 2-4).

Three processes share a 3-partition topic of KServe payload-logger CloudEvents (binary
and structured mode, as a KafkaSink writes them). One is SIGKILLed mid-stream, another
joins: every event produced is counted exactly once in the checkpointed windows, the
drift verdict on the group's merged windows equals one process's on the same events,
and the group sends one alert for the lasting drift.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _kserve_events import Receiver, headers, v2_request, v2_response

from mlpipex.monitor import Ingestor, Limits, ModelInfo
from mlpipex.monitor._kafka import KafkaSettings, ensure_topics, merged_windows, read_state
from mlpipex.monitor._kafka_events import STRUCTURED, to_record
from mlpipex.monitor._scheduler import run_drift
from mlpipex.stats.profile import build_profile

ck = pytest.importorskip("confluent_kafka")
pytestmark = pytest.mark.slow

FEATURES = ("amount", "age")
REPLICA = Path(__file__).with_name("_kafka_replica.py")
PAIRS = 600  # request/response pairs: 1,200 records
ROWS = 4  # feature rows per request


def _events(rng: np.random.Generator, count: int, start: int, amount_mean: float) -> list[tuple[dict[str, str], bytes]]:
    out = []
    for i in range(start, start + count):
        matrix = np.column_stack([rng.normal(amount_mean, 15, ROWS), rng.normal(40, 10, ROWS)]).round(6).tolist()
        now = 1_700_000_000.0 + i
        out.append((headers(f"ev-{i}", "request", when=now), v2_request(matrix)))
        out.append((headers(f"ev-{i}", "response", when=now + 0.01), v2_response([1] * ROWS, [[0.2, 0.8]] * ROWS)))
    return out


def _produce(producer: Any, topic: str, events: list[tuple[dict[str, str], bytes]]) -> None:
    for n, (attributes, body) in enumerate(events):
        event_id = attributes["ce-id"]
        if n % 4 < 2:  # binary mode, as KafkaSink's default contentMode writes it
            _, record_headers = to_record(attributes, body)
            producer.produce(topic, value=body, key=event_id.encode(), headers=record_headers)
        else:  # structured mode: the JSON event format, the payload in `data`
            envelope = {k[3:]: v for k, v in attributes.items() if k.startswith("ce-")}
            envelope.update(datacontenttype="application/json", data=json.loads(body))
            producer.produce(topic, value=json.dumps(envelope).encode(), key=event_id.encode(),
                             headers=[("content-type", f"{STRUCTURED}; charset=utf-8".encode())])  # fmt: skip
    assert producer.flush(30) == 0


class Replica:
    def __init__(self, spec: dict[str, Any], directory: Path, name: str) -> None:
        spec_path = directory / f"{name}.json"
        spec_path.write_text(json.dumps({**spec, "state": str(directory / name)}))
        self.log = directory / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        with open(self.log, "wb") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([sys.executable, str(REPLICA), str(spec_path)], stdout=out,
                                            stderr=subprocess.STDOUT, env=env)  # fmt: skip

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _ends(kafka: KafkaSettings, partitions: int) -> dict[int, int]:
    consumer = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "test-watermarks"})
    try:
        return {p: consumer.get_watermark_offsets(ck.TopicPartition(kafka.topic, p), timeout=10)[1]
                for p in range(partitions)}  # fmt: skip
    finally:
        consumer.close()


def _wait_for(what: str, predicate: Any, timeout: float, replicas: list[Replica]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    logs = "\n".join(r.log.read_text(errors="replace")[-1500:] for r in replicas)
    raise AssertionError(f"{what} did not happen in {timeout:.0f} s; replica logs:\n{logs}")


def test_replicas_count_every_event_once_through_a_kill_and_a_join_and_alert_once(kafka_broker: Any,
                                                                                  tmp_path: Path) -> None:  # fmt: skip
    rng = np.random.default_rng(5)
    reference = build_profile({"amount": rng.normal(100, 15, 20_000), "age": rng.normal(40, 10, 20_000)}, FEATURES)
    (tmp_path / "profile.json").write_text(json.dumps(reference))
    receiver = Receiver()
    name = f"payloads-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(kafka_broker.bootstrap, topic=name, group=f"{name}-monitor", partitions=3)
    ensure_topics(kafka)
    spec = {"bootstrap": kafka.bootstrap, "topic": kafka.topic, "group": kafka.group, "partitions": 3,
            "checkpoint_seconds": 0.5, "schedule": 1.0, "window": 10_000, "features": FEATURES,
            "profile": str(tmp_path / "profile.json"), "alerts": receiver.url}  # fmt: skip
    calm = _events(rng, PAIRS // 2, 0, amount_mean=100)
    shifted = _events(rng, PAIRS // 2, PAIRS // 2, amount_mean=130)
    producer = ck.Producer({"bootstrap.servers": kafka.bootstrap, "acks": "all", "enable.idempotence": True})
    replicas = [Replica(spec, tmp_path, "a"), Replica(spec, tmp_path, "b")]
    try:
        _produce(producer, kafka.topic, calm[: len(calm) // 2])
        _wait_for("a first checkpoint", lambda: any(k.startswith(b"partition/") for k in read_state(kafka)), 60, replicas)
        _produce(producer, kafka.topic, calm[len(calm) // 2:])
        time.sleep(0.3)  # some of these are consumed, not yet checkpointed, when it dies
        _wait_for("the first replica holding partitions", lambda: "assigned partitions" in replicas[0].log.read_text(),
                  60, replicas)  # fmt: skip — it owns some when it dies
        replicas[0].kill()
        replicas.append(Replica(spec, tmp_path, "c"))  # joins: a rebalance moves partitions to it
        _produce(producer, kafka.topic, shifted)
        ends = _ends(kafka, 3)
        assert sum(ends.values()) == 2 * PAIRS

        def caught_up() -> dict[bytes, Any] | None:
            state = read_state(kafka)
            done = all(state.get(f"partition/{p}".encode(), {}).get("offset") == end for p, end in ends.items())
            return state if done else None

        state = _wait_for("every partition checkpointed to its end", caught_up, 120, replicas)
        windows = merged_windows(state)
        [window] = windows
        assert "assigned partitions" in replicas[2].log.read_text()  # the joiner took partitions over
        # Exactly once: every request and response produced, counted once, across the kill and the join.
        assert (window.requests, window.responses, window.samples) == (PAIRS, PAIRS, PAIRS * ROWS)
        assert sum(state[f"partition/{p}".encode()]["windows"][0]["meta"]["requests"] for p in ends) == PAIRS
        assert all(not state[f"partition/{p}".encode()]["malformed"] for p in ends), "both content modes decode"

        # The merged windows' verdict is one process's on the same events.
        model = ModelInfo("fraud", features=FEATURES, profile=reference)
        single = Ingestor(Limits(window=10_000, ttl=600), {"fraud": model})
        for attributes, body in calm + shifted:
            single.accept(attributes, body, now=1_700_000_000.0)
        [alone] = single.windows.values()
        settings = {"alpha": 0.01, "min_samples": 200}
        group_report = run_drift(reference, window.columns(), settings)
        single_report = run_drift(reference, alone.columns(), settings)
        assert group_report["verdict"] == single_report["verdict"] == "drift"
        assert {f["name"]: f["p_value"] for f in group_report["features"]} == \
            pytest.approx({f["name"]: f["p_value"] for f in single_report["features"]}, rel=1e-9)  # fmt: skip

        # One alert for the whole group (the leader's, through its outbox); the App dedupes by id.
        _wait_for("the drift alert", lambda: receiver.received, 60, replicas)
        time.sleep(4)  # several more group checks: no second firing
        ids = {alert["id"] for alert in receiver.received}
        assert len(ids) == 1, receiver.received
        from mlpipex.app.alerts import DriftAlert

        alert = DriftAlert.model_validate_json(json.dumps(receiver.received[0]))  # the App's own model
        assert {f.name for f in alert.features if f.drifted} == {"amount"}
    finally:
        for replica in replicas:
            replica.stop()
        receiver.close()


def test_a_replica_the_group_replaced_cannot_overwrite_the_new_owners_checkpoint(kafka_broker: Any,
                                                                                 tmp_path: Path) -> None:  # fmt: skip
    """A zombie (a replica that stalled past max.poll.interval) is fenced: its checkpoint transaction is refused."""
    from dataclasses import replace

    from mlpipex.errors import ExternalError
    from mlpipex.monitor import MonitorSettings
    from mlpipex.monitor._kafka import GroupMember

    rng = np.random.default_rng(9)
    name = f"zombie-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(kafka_broker.bootstrap, topic=name, group=f"{name}-monitor", partitions=2,
                          poll_interval_ms=6000)  # fmt: skip
    settings = MonitorSettings(state_dir=tmp_path / "a", limits=Limits(window=10_000, ttl=600))
    ensure_topics(kafka)
    producer = ck.Producer({"bootstrap.servers": kafka.bootstrap, "acks": "all"})
    _produce(producer, kafka.topic, _events(rng, 50, 0, 100))
    zombie = GroupMember(settings, kafka)
    newcomer = None
    try:
        deadline = time.monotonic() + 60
        while zombie.consumed < 100 and time.monotonic() < deadline:
            zombie.poll(0.2)
        assert zombie.checkpoint_all() and zombie.consumed == 100
        _produce(producer, kafka.topic, _events(rng, 50, 50, 100))
        while zombie.consumed < 200 and time.monotonic() < deadline:
            zombie.poll(0.2)
        # It stalls here (no poll): the group drops it after 6 s and the newcomer takes every partition.
        newcomer = GroupMember(replace(settings, state_dir=tmp_path / "b"), kafka)
        ends = _ends(kafka, 2)
        while time.monotonic() < deadline + 30:
            newcomer.poll(0.2)
            if sorted(newcomer.partitions) == [0, 1] and all(newcomer.partitions[p].offset == e for p, e in ends.items()):
                break
        newcomer.checkpoint_all()
        owner = read_state(kafka)
        with pytest.raises(ExternalError, match="did not take"):
            zombie.checkpoint_all([0, 1]) or pytest.fail("nothing to checkpoint")  # type: ignore[func-returns-value]
        assert read_state(kafka) == owner  # the new owner's checkpoints stand
        [window] = merged_windows(owner)
        assert (window.requests, window.responses) == (100, 100)
    finally:
        for member in (zombie, newcomer):
            if member is not None:
                member.stop()
