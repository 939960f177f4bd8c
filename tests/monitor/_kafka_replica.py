"""One monitor replica of a Kafka consumer group, run as its own process by the tests (so it can be SIGKILLed).

    python _kafka_replica.py SPEC.json

SPEC names the broker, topic, group, state directory, the reference profile file and
the alert receiver. SIGTERM stops it cleanly (checkpoint, leave the group).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

from mlpipex.monitor import Limits, ModelAlerts, ModelInfo, MonitorSettings
from mlpipex.monitor._kafka import GroupMember, KafkaSettings


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    profile = json.loads(Path(spec["profile"]).read_text())
    model = ModelInfo("fraud", features=tuple(spec["features"]), profile=profile, repository="acme/fraud-model")
    settings = MonitorSettings(state_dir=Path(spec["state"]), models={"fraud": model},
                               schedule_seconds=spec["schedule"], limits=Limits(window=spec["window"], ttl=600),
                               alerts=ModelAlerts(url=spec["alerts"], fire_after=2, resolve_after=2),
                               drift={"alpha": 0.01, "min_samples": 200})  # fmt: skip
    kafka = KafkaSettings(spec["bootstrap"], topic=spec["topic"], group=spec["group"], partitions=spec["partitions"],
                          checkpoint_seconds=spec["checkpoint_seconds"])  # fmt: skip
    member = GroupMember(settings, kafka)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    member.start()
    print("ready", flush=True)
    stopping.wait()
    member.stop()


if __name__ == "__main__":
    main()
