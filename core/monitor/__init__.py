"""The monitor: KServe payload logs in; windows, Prometheus metrics, drift and quality alerts, a dashboard out.

``create_monitor_app(settings)`` (FastAPI, imported lazily) serves it;
``Ingestor`` is the ingestion path without HTTP; ``MonitorSource`` lets the
canary analysis read per-revision samples from a running monitor;
``EventJournal`` is the durability seam (``FileJournal`` for one process);
``KafkaSettings`` / ``GroupMember`` / ``EventProducer`` run replicas that share a Kafka
topic's partitions, ``ColumnSummary`` is the mergeable window summary their checks
use; ``MonitorAuth`` / ``load_auth`` say who may call which endpoint.
"""

from mlpipex.monitor._alerts import Hysteresis, alert_body, step
from mlpipex.monitor._auth import MonitorAuth, Token, load_auth
from mlpipex.monitor._canary import MonitorSource, samples_for
from mlpipex.monitor._events import (
    Event,
    MalformedEvent,
    decode_request,
    decode_response,
    parse_event,
    revision_of,
)
from mlpipex.monitor._ingest import Ingestor, Limits, ModelInfo
from mlpipex.monitor._journal import EventJournal, FileJournal
from mlpipex.monitor._kafka import EventProducer, GroupMember, KafkaSettings
from mlpipex.monitor._metrics import render_metrics
from mlpipex.monitor._settings import (
    DeploymentHistory,
    ModelAlerts,
    MonitorSettings,
    cluster_history,
    load_reference,
    model_info,
    settings_from_configs,
)
from mlpipex.monitor._summary import ColumnSummary
from mlpipex.monitor._windows import Ring, Window, WindowKey

__all__ = [
    "ColumnSummary",
    "DeploymentHistory",
    "Event",
    "EventJournal",
    "EventProducer",
    "FileJournal",
    "GroupMember",
    "Hysteresis",
    "Ingestor",
    "KafkaSettings",
    "Limits",
    "MalformedEvent",
    "ModelAlerts",
    "ModelInfo",
    "Monitor",
    "MonitorAuth",
    "MonitorSettings",
    "MonitorSource",
    "Ring",
    "Token",
    "Window",
    "WindowKey",
    "alert_body",
    "cluster_history",
    "create_monitor_app",
    "decode_request",
    "decode_response",
    "load_auth",
    "load_reference",
    "model_info",
    "monitor_router",
    "parse_event",
    "render_metrics",
    "revision_of",
    "samples_for",
    "settings_from_configs",
    "step",
]


def __getattr__(name: str) -> object:
    # The HTTP service needs FastAPI (the `monitor` extra): loaded on first use only.
    if name in ("Monitor", "create_monitor_app", "monitor_router"):
        from mlpipex.monitor import _service

        return getattr(_service, name)
    raise AttributeError(name)
