"""The Kafka broker of the tests is a real one: Kafka's own tools create and describe a topic on it."""

from __future__ import annotations

from typing import Any


def test_the_session_broker_is_a_running_kraft_node(kafka_broker: Any) -> None:
    created = kafka_broker.tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", kafka_broker.bootstrap,
                                "--create", "--topic", "smoke", "--partitions", "2", "--replication-factor", "1")  # fmt: skip
    assert created.returncode == 0, created.stderr
    described = kafka_broker.tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", kafka_broker.bootstrap,
                                  "--describe", "--topic", "smoke")  # fmt: skip
    assert "PartitionCount: 2" in described.stdout
    quorum = kafka_broker.tool("org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server",
                               kafka_broker.bootstrap, "describe", "--status")  # fmt: skip
    assert "LeaderId:" in quorum.stdout and "1" in quorum.stdout, quorum.stderr  # KRaft: node 1 leads its own quorum
