"""Monitor replicas in a Kafka consumer group: events/s for 1, 2 and 3 replicas against the broker's own ceiling.

One real broker (Apache Kafka, KRaft, one node, -Xmx512m: tests/kafka_broker/broker.py),
on this machine:

1. The ceiling: Kafka's own perf tools on the same broker
   (``org.apache.kafka.tools.ProducerPerformance`` / ``ConsumerPerformance``, what
   kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh run), records the size of
   the monitor's events, ``acks=all``.
2. The monitor: ``--events`` KServe payload-logger CloudEvents (request/response pairs,
   v2, 30 features, binary mode) produced once into a 6-partition topic; then for 1, 2,
   3 replicas (processes, a fresh consumer group each, so each round reads every event)
   the time from the first event applied to the last, each replica's CPU time, and the
   broker's CPU time over the round.

    .venv/bin/python benchmarks/monitor_kafka.py [--events 30000] [--perf-records 200000]

Prints a Markdown table (events/s, per-replica rate, CPU µs per event) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _common import ROOT, machine, table

sys.path.insert(0, str(ROOT / "tests"))
FEATURES = 30
PARTITIONS = 6
POD = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p"


def _event(event_id: str, kind: str, when: float, rows: int = 1) -> tuple[dict[str, str], bytes]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1e9):09d}Z"
    attributes = {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": event_id,
                  "ce-type": f"org.kubeflow.serving.inference.{kind}", "ce-source": POD, "ce-time": stamp,
                  "ce-inferenceservicename": "fraud", "ce-namespace": "ml", "ce-component": "predictor",
                  "ce-endpoint": "default"}  # fmt: skip
    if kind == "request":
        values = [round(0.5 + (hash((event_id, i)) % 1000) / 1000, 4) for i in range(FEATURES * rows)]
        body = {"id": event_id, "inputs": [{"name": "features", "shape": [rows, FEATURES], "datatype": "FP32",
                                            "data": values}]}  # fmt: skip
    else:
        body = {"id": event_id, "model_name": "fraud", "outputs": [
            {"name": "label", "shape": [rows], "datatype": "INT64", "data": [1] * rows},
            {"name": "probabilities", "shape": [rows, 2], "datatype": "FP32", "data": [0.2, 0.8] * rows}]}
    return attributes, json.dumps(body).encode()


def produce(bootstrap: str, topic: str, events: int) -> int:
    """The events, keyed by event id (a KafkaSink-like spread over every partition); the mean record size."""
    import confluent_kafka as ck

    from mlpipex.monitor._kafka_events import to_record

    producer = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "enable.idempotence": True})
    size = 0
    for n in range(events // 2):
        for kind, offset in (("request", 0.0), ("response", 0.01)):
            attributes, body = _event(f"b-{n}", kind, 1_700_000_000.0 + n + offset)
            _, headers = to_record(attributes, body)
            size += len(body) + sum(len(k) + len(v) for k, v in headers)
            while True:
                try:
                    producer.produce(topic, value=body, key=f"b-{n}".encode(), headers=headers)
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
    return size // max(1, events)


def replica(spec_path: str) -> None:
    """One replica (``--replica SPEC``): join the group paused, start on the go file, consume until idle."""
    from mlpipex.monitor import Limits, MonitorSettings
    from mlpipex.monitor._kafka import GroupMember, KafkaSettings

    spec = json.loads(Path(spec_path).read_text())
    go, status = Path(spec["go"]), Path(spec["status"])

    class PausedUntilGo(GroupMember):
        """Holds its partitions without fetching until every replica of the round has joined."""

        def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
            super()._assigned(consumer, partitions)
            if not go.exists():
                consumer.pause(partitions)
            status.write_text(json.dumps(sorted(tp.partition for tp in partitions)))

    settings = MonitorSettings(state_dir=Path(spec["state"]), limits=Limits(window=10_000), schedule_seconds=3600)
    kafka = KafkaSettings(spec["bootstrap"], topic=spec["topic"], group=spec["group"], checkpoint_seconds=5.0)
    member = PausedUntilGo(settings, kafka)
    while not go.exists():
        member.poll(0.2)
    member._consumer.resume(member._consumer.assignment())
    cpu = time.process_time()
    first = last = None
    idle_since = checkpointed = time.monotonic()
    while first is None or time.monotonic() - idle_since < spec["idle"]:
        if member.poll(0.2):
            now = time.monotonic()
            first = first or now
            last = idle_since = now
        if time.monotonic() - checkpointed > kafka.checkpoint_seconds:  # as GroupMember.run does
            checkpointed = time.monotonic()
            member.checkpoint_all()
        if first is None and time.monotonic() - idle_since > 60:
            break
    member.checkpoint_all()
    print(json.dumps({"consumed": member.consumed, "first": first, "last": last, "cpu": time.process_time() - cpu,
                      "wall_first_to_last": (last or 0) - (first or 0)}), flush=True)  # fmt: skip
    member.stop()


def _checkpoint_cost() -> tuple[float, int]:
    """Encoding one partition's checkpoint whose window is full (what every 5 s costs a busy partition)."""
    from mlpipex.monitor import Ingestor, Limits
    from mlpipex.monitor._kafka import KafkaSettings, encode_checkpoint

    ingestor = Ingestor(Limits(window=10_000))
    for n in range(10_000):
        attributes, body = _event(f"c-{n}", "request", 1_700_000_000.0 + n)
        ingestor.accept(attributes, body, now=1_700_000_000.0 + n)
    started = time.perf_counter()
    record = encode_checkpoint(0, 10_000, ingestor, KafkaSettings("127.0.0.1:9"))
    return (time.perf_counter() - started) * 1000, len(record)


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_of(broker: Any, topic: str, replicas: int, workdir: Path) -> dict[str, Any]:
    """A fresh group of ``replicas`` processes reads every event; they start together once all have joined."""
    group = f"bench-{replicas}-{uuid.uuid4().hex[:6]}"
    go = workdir / f"{group}.go"
    procs, statuses = [], []
    for r in range(replicas):
        spec, status = workdir / f"{group}-{r}.json", workdir / f"{group}-{r}.status"
        spec.write_text(json.dumps({"bootstrap": broker.bootstrap, "topic": topic, "group": group, "idle": 3.0,
                                    "state": str(workdir / f"{group}-{r}"), "go": str(go), "status": str(status)}))  # fmt: skip
        statuses.append(status)
        procs.append(subprocess.Popen([sys.executable, __file__, "--replica", str(spec)], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True))  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # every replica holds partitions and together they hold all
        owned = [json.loads(s.read_text()) if s.exists() else [] for s in statuses]
        if all(owned) and sorted(p for o in owned for p in o) == list(range(PARTITIONS)):
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"the {replicas} replicas did not share the partitions in 120 s")
    broker_cpu = _cpu_of(broker.process.pid)
    go.touch()
    reports = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    broker_cpu = _cpu_of(broker.process.pid) - broker_cpu
    consumed = sum(r["consumed"] for r in reports)
    span = max(r["last"] for r in reports if r["last"]) - min(r["first"] for r in reports if r["first"])
    return {"replicas": replicas, "consumed": consumed, "span": span, "rate": consumed / span,
            "per_replica": [r["consumed"] / max(r["wall_first_to_last"], 1e-9) for r in reports if r["consumed"]],
            "cpu_us": sum(r["cpu"] for r in reports) / consumed * 1e6, "broker_cpu_us": broker_cpu / consumed * 1e6}  # fmt: skip


def _perf(broker: Any, records: int, size: int) -> tuple[float, float]:
    topic = "perf-ceiling"
    broker.tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", broker.bootstrap, "--create", "--topic",
                topic, "--partitions", str(PARTITIONS), "--replication-factor", "1")  # fmt: skip
    produced = broker.tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records",
                           str(records), "--record-size", str(size), "--throughput", "-1", "--producer-props",
                           f"bootstrap.servers={broker.bootstrap}", "acks=all", "linger.ms=20")  # fmt: skip
    match = re.findall(r"([\d.]+) records/sec", produced.stdout)
    if not match:
        raise SystemExit(f"ProducerPerformance printed no rate: {produced.stdout[-500:]} {produced.stderr[-500:]}")
    consumed = broker.tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", broker.bootstrap,
                           "--topic", topic, "--messages", str(records), "--timeout", "60000")  # fmt: skip
    lines = [line for line in consumed.stdout.splitlines() if line and line[0].isdigit()]
    if not lines:
        raise SystemExit(f"ConsumerPerformance printed no rate: {consumed.stdout[-500:]} {consumed.stderr[-500:]}")
    return float(match[-1]), float(lines[-1].split(",")[5])  # nMsg.sec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--perf-records", type=int, default=200_000)
    parser.add_argument("--replica", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        replica(args.replica)
        return
    import tempfile

    from kafka_broker.broker import KafkaBroker

    from mlpipex.monitor._kafka import KafkaSettings, ensure_topics

    started = time.monotonic()
    broker = KafkaBroker(partitions=PARTITIONS)
    print(f"broker up in {time.monotonic() - started:.1f} s at {broker.bootstrap} ({machine()})", file=sys.stderr)
    try:
        topic = "bench-payloads"
        ensure_topics(KafkaSettings(broker.bootstrap, topic=topic, partitions=PARTITIONS))
        broker_cpu = _cpu_of(broker.process.pid)
        size = produce(broker.bootstrap, topic, args.events)
        produce_us = (_cpu_of(broker.process.pid) - broker_cpu) / args.events * 1e6
        checkpoint_ms, checkpoint_bytes = _checkpoint_cost()
        producer_rate, consumer_rate = _perf(broker, args.perf_records, size)
        rounds = []
        with tempfile.TemporaryDirectory() as work:
            for count in (1, 2, 3):
                rounds.append(round_of(broker, topic, count, Path(work)))
                print(f"{count} replicas: {rounds[-1]}", file=sys.stderr)
    finally:
        broker.stop()
    rows = [["broker ceiling: ProducerPerformance (acks=all)", f"{producer_rate:,.0f} records/s", f"{size} B records", ""],
            ["broker ceiling: ConsumerPerformance", f"{consumer_rate:,.0f} records/s", "", ""]]  # fmt: skip
    for r in rounds:
        per = ", ".join(f"{v:,.0f}" for v in r["per_replica"])
        rows.append([f"monitor, {r['replicas']} replica(s), {r['consumed']:,} events", f"{r['rate']:,.0f} events/s",
                     f"per replica {per}/s", f"monitor {r['cpu_us']:.0f} µs, broker {r['broker_cpu_us']:.0f} µs CPU/event"])  # fmt: skip
    rows.append(["broker CPU to take the monitor's events (acks=all, idempotent, RF 1)", "", "",
                 f"broker {produce_us:.0f} µs CPU/event"])  # fmt: skip
    rows.append(["checkpoint of one full window (10,000 rows × 30 features)", f"{checkpoint_ms:.0f} ms",
                 f"{checkpoint_bytes / 1e6:.1f} MB record", ""])  # fmt: skip
    print(table(["what", "rate", "detail", "CPU per event"], rows))


if __name__ == "__main__":
    main()
