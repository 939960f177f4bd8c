"""deploy/knative/kafka-payload-logs.yaml: the KServe side of Kafka mode lines up with the monitor (issue 22, item 5)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from mlpipex.monitor._events import REQUEST_TYPE, RESPONSE_TYPE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "knative" / "kafka-payload-logs.yaml"


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(EXAMPLE.read_text()) if o}


def test_the_logger_reaches_the_sink_and_the_sink_writes_the_monitors_topic() -> None:
    import argparse

    from mlpipex.commands import monitor as command

    objects = _objects()
    sink = objects[("KafkaSink", "kserve-payloads")]
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    defaults = parser.parse_args(["monitor", "serve"])
    assert sink["spec"]["topic"] == defaults.kafka_topic  # the monitor's default topic
    assert sink["spec"]["contentMode"] in ("binary", "structured")
    service = objects[("InferenceService", "fraud")]
    namespace, name = sink["metadata"]["namespace"], sink["metadata"]["name"]
    assert service["spec"]["predictor"]["logger"] == {
        "mode": "all", "url": f"http://kafka-sink-ingress.knative-eventing.svc.cluster.local/{namespace}/{name}"}
    triggers = [o for (kind, _), o in objects.items() if kind == "Trigger"]
    assert {t["spec"]["filter"]["attributes"]["type"] for t in triggers} == {REQUEST_TYPE, RESPONSE_TYPE}
    assert all(t["spec"]["subscriber"]["ref"] == {"apiVersion": sink["apiVersion"], "kind": "KafkaSink", "name": name}
               for t in triggers)  # fmt: skip


def test_kserve_admits_the_example_inferenceservice() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.kserve.cluster_fake.kserve_admission import assert_admitted

    defaulted = assert_admitted(_objects()[("InferenceService", "fraud")])
    assert defaulted["spec"]["predictor"]["logger"]["mode"] == "all"
