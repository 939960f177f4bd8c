"""Kafka (confluent-kafka, librdkafka): the payload topic is the journal, shared by monitor replicas.

Replicas in one consumer group split the payload topic's partitions. Each keeps, per
partition it owns, the windows built from that partition's events (an ``Ingestor``),
and checkpoints them, with the offset of the next event they do not include, as one
record in a compacted state topic (key ``partition/<n>``). Only once the broker has
acknowledged the checkpoint is the offset committed to the group. A partition that
moves (a replica died, joined or left) is rebuilt by its new owner from the latest
checkpoint plus the topic from that checkpoint's offset: the offset rides in the same
record as the windows, so every event is counted exactly once whatever the group did
between the checkpoint and the crash. Event time for the join and expiry is the
record's timestamp, so a replay decides what the first run decided.

Each checkpoint also carries a mergeable summary of each window (mlpipex.monitor._summary).
The replica that owns partition 0 is the group's leader: every ``schedule_seconds``
it reads the latest checkpoints of every partition, merges the windows of each
revision across partitions, runs the drift and quality checks on the merged windows
and decides alerts with the hysteresis. The hysteresis and the alerts it fired are
written to the state topic (key ``group``) and acknowledged before any alert is sent,
so a new leader goes on from there: an alert fired by a leader that died is sent again
with the same id (the App deduplicates by id), and no second firing happens for the
same lasting drift.

Security: ``KafkaSettings`` maps to librdkafka's ``security.protocol``,
``sasl.mechanism``/``sasl.username``/``sasl.password`` (the password from an environment
variable, never a flag) and ``ssl.ca.location``/``ssl.certificate.location``/``ssl.key.location``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlpipex.errors import ExternalError, InputError
from mlpipex.monitor._alerts import Hysteresis
from mlpipex.monitor._events import MalformedEvent
from mlpipex.monitor._ingest import Ingestor
from mlpipex.monitor._kafka_events import from_record, to_record
from mlpipex.monitor._scheduler import DriftFunction, Scheduler, run_drift
from mlpipex.monitor._settings import MonitorSettings
from mlpipex.monitor._store import Store
from mlpipex.monitor._summary import EXACT_LIMIT, SKETCH_POINTS, ColumnSummary, merged_sample
from mlpipex.monitor._windows import Window, WindowKey

__all__ = ["CHECKPOINT_FORMAT", "EventProducer", "GroupMember", "KafkaSettings", "merged_windows", "read_state"]

log = logging.getLogger("mlpipex.monitor")
CHECKPOINT_FORMAT = "mlpipex.monitor.partition/v1"
GROUP_KEY = b"group"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
MAX_STATE_RECORD = 64 << 20
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # a topic name (the state topic's is made of the topic's and the group's)  # a partition's checkpoint (compressed windows) may be this large


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    topic: str = "kserve-payloads"
    group: str = "mlpipex-monitor"
    state_topic: str = ""  # default "<topic>.<group>.mlpipex-state" (compacted, one partition): one per group
    partitions: int = 6  # when the monitor creates the payload topic
    replication: int = -1  # when it creates a topic: -1 is the broker's default.replication.factor
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password_env: str = "MLPIPEX_KAFKA_PASSWORD"
    ssl_ca: str = ""
    ssl_certificate: str = ""
    ssl_key: str = ""
    checkpoint_seconds: float = 5.0  # how often a partition's windows are checkpointed (and the offset committed)
    poll_interval_ms: int = 60_000  # a replica that applies nothing for this long leaves the group (then fenced)
    exact_limit: int = EXACT_LIMIT  # a window column summarised exactly up to this many values
    sketch_points: int = SKETCH_POINTS

    def __post_init__(self) -> None:
        for flag, name in (("--kafka-topic", self.topic), ("--kafka-group", self.group)):
            if not _NAME.match(name):
                raise InputError(f"{flag} {name!r} is not a Kafka name (letters, digits, '.', '_', '-'; 1-100)",
                                 fix=f"e.g. {flag} kserve-payloads")  # fmt: skip
        if not self.bootstrap.strip():
            raise InputError("the Kafka bootstrap servers are empty", fix="e.g. --kafka-bootstrap kafka:9092")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise InputError(f"Kafka security protocol {self.security_protocol!r} is not one of "
                             f"{', '.join(SECURITY_PROTOCOLS)}", fix="e.g. --kafka-security-protocol SASL_SSL")  # fmt: skip
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism not in SASL_MECHANISMS:
            raise InputError(f"SASL needs a mechanism, one of {', '.join(SASL_MECHANISMS)}",
                             fix="e.g. --kafka-sasl-mechanism SCRAM-SHA-512")  # fmt: skip

    @property
    def state(self) -> str:
        return self.state_topic or f"{self.topic}.{self.group}.mlpipex-state"

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings common to every client (no secret is ever logged: see ``redacted``)."""
        # Brokers close idle connections (connections.max.idle.ms): routine, not worth a log line.
        # librdkafka logs through the monitor's logger (its level, its format) instead of raw stderr lines.
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol,
                                  "log.connection.close": False, "logger": logging.getLogger("mlpipex.monitor.kafka")}  # fmt: skip
        if self.security_protocol.startswith("SASL"):
            password = os.environ.get(self.sasl_password_env)
            if not password and self.sasl_mechanism != "OAUTHBEARER":
                raise InputError(f"SASL is on but ${self.sasl_password_env} is empty",
                                 fix=f"set {self.sasl_password_env} (from a Kubernetes Secret)")  # fmt: skip
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username})
            if password:
                config["sasl.password"] = password
        for key, value in (("ssl.ca.location", self.ssl_ca), ("ssl.certificate.location", self.ssl_certificate),
                           ("ssl.key.location", self.ssl_key)):  # fmt: skip
            if value:
                config[key] = value
        return config


def _kafka() -> Any:
    try:
        import confluent_kafka
    except ImportError:
        raise InputError("the monitor's Kafka mode needs confluent-kafka", fix="pip install 'mlpipex[monitor]'") from None
    return confluent_kafka


def ensure_topics(kafka: KafkaSettings) -> None:
    """Create the payload topic and the compacted state topic if they are missing."""
    ck = _kafka()
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(kafka.client_config())
    try:
        admin.list_topics(timeout=15)
    except ck.KafkaException as exc:
        raise ExternalError(f"cannot reach the Kafka brokers at {kafka.bootstrap}: {exc.args[0].str()}",
                            fix="check --kafka-bootstrap, the network, and the security protocol/SASL/TLS settings "
                                "(docs/monitoring.md)") from None  # fmt: skip
    topics = [NewTopic(kafka.topic, kafka.partitions, kafka.replication),
              NewTopic(kafka.state, 1, kafka.replication, config={"cleanup.policy": "compact",
                                                                  "max.message.bytes": str(MAX_STATE_RECORD)})]  # fmt: skip
    for name, future in admin.create_topics(topics, operation_timeout=30, request_timeout=30).items():
        try:
            future.result()
        except ck.KafkaException as exc:
            if exc.args[0].code() != ck.KafkaError.TOPIC_ALREADY_EXISTS:
                raise ExternalError(f"cannot create the Kafka topic {name}: {exc.args[0].str()}") from None


# -- producing (the HTTP receiver) ------------------------------------------------------


class EventProducer:
    """Writes the events the HTTP endpoint receives to the payload topic (binary mode, keyed by revision)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        ck = _kafka()
        self.kafka = kafka
        self._producer = ck.Producer({**kafka.client_config(), "acks": "all", "enable.idempotence": True,
                                      "linger.ms": 5, "compression.type": "lz4"})  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mlpipex-monitor-producer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)  # runs the delivery callbacks

    async def send(self, attributes: Mapping[str, str], body: bytes) -> None:
        """Produce one event and wait for the broker's acknowledgement (``OSError`` if it is refused)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def delivered(error: Any, _: Any) -> None:
            outcome = OSError(f"Kafka refused the event: {error.str()}") if error is not None else None
            loop.call_soon_threadsafe(_settle, done, outcome)

        key, headers = to_record(attributes, body)
        try:
            self._producer.produce(self.kafka.topic, value=body, key=key, headers=headers, on_delivery=delivered)
        except BufferError:
            raise OSError("the Kafka producer's queue is full") from None
        await done

    def close(self) -> None:
        self._producer.flush(10)
        self._stop.set()
        self._thread.join(timeout=5)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(None)


# -- the state topic --------------------------------------------------------------------


def encode_checkpoint(partition: int, offset: int, ingestor: Ingestor, kafka: KafkaSettings) -> bytes:
    with ingestor.lock:
        windows = [(w.meta_state(), w.array_state(), w.columns()) for w in ingestor.windows.values()]
        joins = ingestor.join_state()
        malformed = dict(ingestor.malformed)
    from mlpipex.monitor._windows import pack_arrays

    document = {
        "format": CHECKPOINT_FORMAT, "topic": kafka.topic, "partition": partition, "offset": offset,
        "joins": joins, "malformed": malformed,
        "windows": [{"meta": meta, "arrays": base64.b64encode(pack_arrays(arrays)).decode(),
                     "summary": {name: ColumnSummary.of(values, exact_limit=kafka.exact_limit,
                                                        points=kafka.sketch_points).to_dict()
                                 for name, values in columns.items()}} for meta, arrays, columns in windows],
    }  # fmt: skip
    return zlib.compress(json.dumps(document, default=float, separators=(",", ":")).encode(), 1)


def decode_state(value: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(zlib.decompress(value))
    return document


def read_state(kafka: KafkaSettings, timeout: float = 30.0) -> dict[bytes, dict[str, Any]]:
    """The latest record of each key in the state topic (``partition/<n>`` checkpoints and ``group``)."""
    ck = _kafka()
    consumer = ck.Consumer({**kafka.client_config(), "group.id": f"{kafka.group}.state-reader",
                            "enable.auto.commit": False, "enable.partition.eof": True,
                            "isolation.level": "read_committed"})  # fmt: skip — aborted checkpoints never count
    latest: dict[bytes, dict[str, Any]] = {}
    try:
        low, high = consumer.get_watermark_offsets(ck.TopicPartition(kafka.state, 0), timeout=timeout)
        if high <= low:
            return latest
        consumer.assign([ck.TopicPartition(kafka.state, 0, low)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == ck.KafkaError._PARTITION_EOF:
                    break
                raise ExternalError(f"reading the monitor's state topic {kafka.state}: {message.error().str()}")
            if message.value() is None:
                latest.pop(message.key(), None)
            else:
                latest[message.key()] = decode_state(message.value())
            if message.offset() >= high - 1:
                break
        else:
            raise ExternalError(f"reading the monitor's state topic {kafka.state} took more than {timeout:.0f} s")
    finally:
        consumer.close()
    return latest


def merged_windows(state: Mapping[bytes, Mapping[str, Any]]) -> list[Window]:
    """One window per revision over every partition's checkpoint: counters summed, columns merged."""
    parts: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for key, document in state.items():
        if key.startswith(b"partition/"):
            for entry in document.get("windows") or []:
                parts.setdefault(tuple(entry["meta"]["key"]), []).append(entry)
    merged = []
    for label, entries in parts.items():
        metas = [e["meta"] for e in entries]
        features = next((list(m["features"]) for m in metas if m["features"]), [])
        columns = {}
        for name in features:
            summaries = [ColumnSummary.from_dict(e["summary"][name]) for e in entries if name in e.get("summary", {})]
            nulls = sum(summary.nulls for summary in summaries)  # every row is in each column, NaN where missing
            columns[name] = np.concatenate([merged_sample(summaries), np.full(nulls, np.nan)])
        rows = min((c.size for c in columns.values()), default=0)
        window = Window(WindowKey(*label), features, max(1, rows))
        for name in ("requests", "responses", "errors", "samples"):
            setattr(window, name, sum(int(m[name]) for m in metas))
        window.first_seen = min(float(m["first_seen"]) for m in metas)
        window.last_seen = max(float(m["last_seen"]) for m in metas)
        window.endpoint = metas[0]["endpoint"]
        if rows and features:
            window.rows.add(np.column_stack([columns[name][:rows] for name in features]))
        merged.append(window)
    return merged


# -- a replica ----------------------------------------------------------------------------


@dataclass
class _Partition:
    ingestor: Ingestor
    offset: int  # the next offset to apply (everything before it is in ``ingestor``)
    checkpointed: int
    skipped: Counter[str] = field(default_factory=Counter)


class GroupMember:
    """One monitor replica in the consumer group: consumes, checkpoints, and leads the group's checks on partition 0."""

    def __init__(self, settings: MonitorSettings, kafka: KafkaSettings, *, drift: DriftFunction = run_drift,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.ck = _kafka()
        self.settings, self.kafka, self.drift, self.clock = settings, kafka, drift, clock
        ensure_topics(kafka)
        self.partitions: dict[int, _Partition] = {}
        self.lock = threading.Lock()
        self.consumed = 0
        self.group_checks = 0
        self.windows: list[Window] = []  # the merged windows of the last group check (leader)
        self._leader_store: Store | None = None
        self._deliverer: Scheduler | None = None
        self._last_check = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # One transactional id per replica process: a restarted replica is a new member anyway,
        # and the group generation (KIP-447) fences a stale one.
        self._transactional_id = f"{kafka.group}.{uuid.uuid4().hex}"
        self._producer = self._transactional_producer()
        self._consumer = self.ck.Consumer({
            **kafka.client_config(), "group.id": kafka.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
            "max.poll.interval.ms": kafka.poll_interval_ms, "partition.assignment.strategy": "range",
        })  # fmt: skip
        self._consumer.subscribe([kafka.topic], on_assign=self._assigned, on_revoke=self._revoked,
                                 on_lost=self._lost)  # fmt: skip

    # -- rebalances ----------------------------------------------------------------------

    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        state = read_state(self.kafka)
        if any(tp.partition == 0 for tp in partitions):
            # Leader before partition 0 is shown as owned: /healthz never says "owns 0, does not lead".
            self._become_leader(state)
        for tp in partitions:
            document = state.get(f"partition/{tp.partition}".encode())
            ingestor = Ingestor(self.settings.limits, self.settings.models)
            offset = 0
            if document is not None:
                offset = int(document["offset"])
                for entry in document["windows"]:
                    window = Window.from_state(entry["meta"], base64.b64decode(entry["arrays"]))
                    if window.capacity == self.settings.limits.window:
                        ingestor.add_window(window)
                ingestor.restore_join_state(document.get("joins") or {})
                ingestor.malformed.update(document.get("malformed") or {})
            with self.lock:
                self.partitions[tp.partition] = _Partition(ingestor, offset, offset)
            tp.offset = offset  # from the checkpoint, not the committed offset: they agree unless we died between
        log.info("assigned partitions %s of %s", sorted(tp.partition for tp in partitions), self.kafka.topic)
        consumer.assign(partitions)

    def _revoked(self, consumer: Any, partitions: list[Any]) -> None:
        try:
            self.checkpoint_all([tp.partition for tp in partitions])
        except Exception as exc:  # the new owner replays from the last good checkpoint
            log.warning("checkpoint on revoke failed (the new owner replays from the last one): %s", exc)
        self._drop(partitions)

    def _lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._drop(partitions)  # someone else may own them already: no checkpoint

    def _drop(self, partitions: list[Any]) -> None:
        with self.lock:
            for tp in partitions:
                self.partitions.pop(tp.partition, None)
                if tp.partition == 0 and self._leader_store is not None:
                    self._leader_store.close()
                    self._leader_store, self._deliverer = None, None
        self._consumer.unassign()

    # -- consuming ------------------------------------------------------------------------

    def poll(self, timeout: float = 0.2) -> bool:
        """Apply one record if one comes within ``timeout``; False if none did."""
        message = self._consumer.poll(timeout)
        if message is None:
            return False
        if message.error():
            if message.error().code() != self.ck.KafkaError._PARTITION_EOF:
                log.warning("Kafka: %s", message.error().str())
            return False
        with self.lock:
            part = self.partitions.get(message.partition())
            if part is None or message.offset() < part.offset:
                return True  # not ours (any more), or already in the window
            try:
                attributes, body = from_record(message.headers(), message.value())
                stamp = message.timestamp()[1]
                part.ingestor.accept(attributes, body, now=stamp / 1000.0 if stamp > 0 else None)
            except MalformedEvent as exc:
                with part.ingestor.lock:
                    part.ingestor.malformed[exc.reason] += 1
            part.offset = message.offset() + 1
            self.consumed += 1
        return True

    def checkpoint(self, partition: int) -> bool:
        """Checkpoint one partition if it moved; True if it wrote one."""
        return partition in self.checkpoint_all([partition])

    def checkpoint_all(self, partitions: list[int] | None = None) -> list[int]:
        """Checkpoint the owned partitions that moved, in one transaction with their offsets; those written.

        The checkpoint records and the group's offsets commit together or not at all
        (``send_offsets_to_transaction``), and the commit is refused for a replica the group
        has already replaced (a zombie after a long pause): its stale windows never
        overwrite the new owner's.
        """
        with self.lock:
            chosen = [p for p in (partitions if partitions is not None else list(self.partitions))
                      if p in self.partitions and self.partitions[p].offset != self.partitions[p].checkpointed]  # fmt: skip
            records = [(p, self.partitions[p].offset,
                        encode_checkpoint(p, self.partitions[p].offset, self.partitions[p].ingestor, self.kafka))
                       for p in chosen]  # fmt: skip
        if not records:
            return []
        offsets = [self.ck.TopicPartition(self.kafka.topic, p, offset) for p, offset, _ in records]
        self._transaction([(f"partition/{p}".encode(), value) for p, _, value in records], offsets)
        with self.lock:
            for p, offset, _ in records:
                if p in self.partitions:
                    self.partitions[p].checkpointed = offset
        return [p for p, _, _ in records]

    def _transaction(self, items: list[tuple[bytes, bytes]], offsets: list[Any] | None = None) -> None:
        """Write state records (and commit the group's offsets) atomically; ``ExternalError`` if refused."""
        producer = self._producer
        try:
            producer.begin_transaction()
            for key, value in items:
                producer.produce(self.kafka.state, key=key, value=value)
            if offsets:
                producer.send_offsets_to_transaction(offsets, self._consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
        except Exception as exc:  # KafkaException, or no group metadata while the group rebalances
            with contextlib.suppress(Exception):  # nothing of it may stay open for the next one
                producer.abort_transaction(30)
            error = exc.args[0] if isinstance(exc, self.ck.KafkaException) and exc.args else None
            if error is not None and error.fatal():  # fenced by a newer instance: start over with a new producer
                self._producer = self._transactional_producer()
            reason = error.str() if error is not None else str(exc)
            raise ExternalError(f"the monitor's state topic {self.kafka.state} did not take "
                                f"{', '.join(k.decode() for k, _ in items)}: {reason}") from None  # fmt: skip

    def _transactional_producer(self) -> Any:
        producer = self.ck.Producer({**self.kafka.client_config(), "transactional.id": self._transactional_id,
                                     "message.max.bytes": MAX_STATE_RECORD + 4096, "transaction.timeout.ms": 60000})  # fmt: skip
        producer.init_transactions(30)
        return producer

    # -- the group's checks (leader: owner of partition 0) -------------------------------

    @property
    def leader(self) -> bool:
        return self._leader_store is not None

    def _become_leader(self, state: Mapping[bytes, Mapping[str, Any]]) -> None:
        """A fresh outbox and hysteresis from the group record: what the last leader decided goes on."""
        if self._leader_store is not None:
            self._leader_store.close()
        path = self.settings.state_dir / "kafka-leader.sqlite"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)  # the group record is the truth, not what this replica led before
        store = Store(path)
        group = state.get(GROUP_KEY) or {}
        for key, saved in (group.get("hysteresis") or {}).items():
            store.record_step(key, Hysteresis.from_dict(saved))
        for alert_id, url, body in group.get("alerts") or []:
            store.add_alert(alert_id, url, body)  # sent again if the last leader did: the App dedupes by id
        self._leader_store = store
        self._deliverer = Scheduler(Ingestor(self.settings.limits), store, self.settings)  # sends the outbox
        self._last_check = self.clock()
        log.info("leading the group's checks (%d alerts carried over)", len(group.get("alerts") or []))

    def group_check(self, now: float | None = None) -> list[Window]:
        """Merge every partition's latest checkpoint, check drift and quality, record the decisions (leader only)."""
        store = self._leader_store
        if store is None:
            return []
        now = self.clock() if now is None else now
        self.checkpoint_all()
        state = read_state(self.kafka)
        view = Ingestor(replace(self.settings.limits, max_windows=1 << 20), self.settings.models)
        windows = merged_windows(state)
        for window in windows:
            view.windows[window.key] = window
        scheduler = Scheduler(view, store, self.settings, drift=self.drift, clock=lambda: now, checkpoint=lambda: None)
        scheduler.check(now)
        self.windows = windows
        record = zlib.compress(json.dumps({"hysteresis": store.hysteresis_states(), "alerts": store.recent_alerts(100),
                                           "at": now}, separators=(",", ":")).encode(), 1)  # fmt: skip
        try:
            self._transaction([(GROUP_KEY, record)])  # committed before any alert of it is sent
        except ExternalError:
            # Not in the group record: forget this check's decisions (a later leader would decide again,
            # with another alert id), and go on from the last committed record.
            self._become_leader(read_state(self.kafka))
            raise
        self.group_checks += 1
        scheduler.deliver(now)
        return windows

    def status(self) -> dict[str, Any]:
        """What /healthz shows: the partitions this replica owns, how far each is, whether it leads."""
        with self.lock:
            owned = {str(p): {"offset": part.offset, "checkpointed": part.checkpointed,
                              "windows": len(part.ingestor.windows)} for p, part in sorted(self.partitions.items())}  # fmt: skip
        return {"topic": self.kafka.topic, "group": self.kafka.group, "partitions": owned, "leader": self.leader,
                "consumed": self.consumed, "group_checks": self.group_checks}  # fmt: skip

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        last_checkpoint = time.monotonic()
        while not self._stop.is_set():
            try:
                self.poll(0.2)
            except self.ck.KafkaException as exc:  # raised from a rebalance callback: the next poll retries it
                log.warning("Kafka: %s", exc)
            if time.monotonic() - last_checkpoint >= self.kafka.checkpoint_seconds:
                last_checkpoint = time.monotonic()
                try:
                    self.checkpoint_all()
                except Exception as exc:
                    log.warning("checkpoint failed (the offsets stay where they were): %s", exc)
            if self._leader_store is not None:
                now = self.clock()
                try:
                    if now - self._last_check >= self.settings.schedule_seconds:
                        self._last_check = now
                        self.group_check(now)
                    elif self._deliverer is not None:
                        self._deliverer.deliver(now)
                except Exception:
                    log.exception("the group's check failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="mlpipex-monitor-kafka", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.checkpoint_all()
        except Exception as exc:  # fenced, or the broker is gone: the next owner replays from the last one
            log.warning("checkpoint on stop failed: %s", exc)
        finally:
            self._consumer.close()  # leaves the group: the partitions move at once
            self._producer.flush(10)
            if self._leader_store is not None:
                self._leader_store.close()
