"""A real Apache Kafka broker for the tests and the benchmark: KRaft, one node, on loopback.

scripts/fetch-kafka.sh brings the broker's jars (kafka_2.13 and kafka-tools, the version
pinned in tests/kafka_broker/pom.xml) from Maven Central into .cache-kafka/<version>/libs
once; here the storage is formatted (``kafka.tools.StorageTool``, what
``kafka-storage.sh format`` runs) and ``kafka.Kafka`` started on the machine's Java 17,
combined broker and controller, on two free 127.0.0.1 ports, heap capped at 512 MiB.

``shared()`` gives one broker for the whole test session. Where it cannot run (no Java,
no jars, it did not start) the test fails under ``CI=true`` and is skipped elsewhere,
with the reason.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FETCH = ROOT / "scripts" / "fetch-kafka.sh"
START_TIMEOUT = 90.0  # seconds; a cold JVM on two busy cores takes 5-15 s

_LOG4J = """\
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
"""


class BrokerUnavailable(RuntimeError):
    """The broker cannot be had here (what is missing is the message)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def libs_dir() -> Path:
    """The folder of the broker's jars, fetched (cached) if needed."""
    if shutil.which("java") is None:
        raise BrokerUnavailable("java is not installed (the Kafka broker needs Java 17): apt-get install openjdk-17-jre")
    try:
        result = subprocess.run(["bash", str(FETCH)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise BrokerUnavailable("fetching the Kafka broker took more than 15 minutes") from None
    if result.returncode != 0:
        raise BrokerUnavailable(f"scripts/fetch-kafka.sh failed: {result.stderr.strip()[-500:]}")
    return ROOT / result.stdout.strip().splitlines()[-1] / "libs"


def classpath(libs: Path) -> str:
    return os.pathsep.join(str(p) for p in sorted(libs.glob("*.jar")))


def java_env(heap: str = "512m") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "JAVA_TOOL"))}
    env["KAFKA_HEAP_OPTS"] = f"-Xmx{heap}"
    return env


class KafkaBroker:
    """One KRaft node (broker and controller) in a temporary directory; ``stop()`` removes it."""

    def __init__(self, *, partitions: int = 3, heap: str = "512m") -> None:
        self.libs = libs_dir()
        self.directory = Path(tempfile.mkdtemp(prefix="mlpipex-kafka-"))
        self.port, self.controller_port = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = self.directory / "broker.log"
        properties = self.directory / "server.properties"
        properties.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.directory / 'data'}",
            f"num.partitions={partitions}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=3",  # the default 50 costs seconds of start-up on two cores
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",  # a lone consumer gets its partitions at once
            "num.network.threads=2",
            "num.io.threads=2",
            "background.threads=2",
            "log.cleaner.threads=1",
            "auto.create.topics.enable=false",  # a topic the monitor needs is created on purpose
            "",
        ]))  # fmt: skip
        log4j = self.directory / "log4j2.properties"
        log4j.write_text(_LOG4J.format(log=self.log))
        self._java = [shutil.which("java") or "java", "-Xmx" + heap, "-Xss1m", "-XX:+UseSerialGC",
                      "-XX:TieredStopAtLevel=1", f"-Dlog4j2.configurationFile={log4j}",
                      "-cp", classpath(self.libs)]  # fmt: skip
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run([*self._java, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                                    "-c", str(properties)], capture_output=True, text=True, timeout=120)  # fmt: skip
        if formatted.returncode != 0:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise BrokerUnavailable(f"kafka-storage format failed: {(formatted.stderr or formatted.stdout)[-500:]}")
        self._out = open(self.directory / "stdout.log", "wb")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen([*self._java, "kafka.Kafka", str(properties)], stdout=self._out,
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailable(f"the Kafka broker exited with {self.process.returncode}: {self.tail()}")
            if self.log.exists() and "Kafka Server started" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise BrokerUnavailable(f"the Kafka broker did not start in {START_TIMEOUT:.0f} s: {self.tail()}")

    def tail(self, size: int = 1500) -> str:
        text = ""
        for path in (self.log, self.directory / "stdout.log"):
            if path.exists():
                text += path.read_text(errors="replace")[-size:]
        return text.strip()

    def tool(self, main_class: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """One of Kafka's own command-line tools (e.g. ``org.apache.kafka.tools.ProducerPerformance``)."""
        return subprocess.run([*self._java, main_class, *args], capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        out = getattr(self, "_out", None)
        if out is not None:
            out.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_shared: KafkaBroker | None = None
_failure: str | None = None


def shared() -> KafkaBroker:
    """The session's broker (started on first use); fails under CI=true where it cannot run, else skips."""
    import pytest

    global _shared, _failure
    if _shared is None and _failure is None:
        try:
            _shared = KafkaBroker()
            atexit.register(_shared.stop)
        except BrokerUnavailable as exc:
            _failure = str(exc)
    if _shared is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Kafka broker is required under CI: {_failure}")
        pytest.skip(f"no Kafka broker: {_failure}")
    return _shared
