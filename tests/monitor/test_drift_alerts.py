"""The scheduler against a real reference profile: a shifted input distribution gives one drift alert."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _kserve_events import Receiver, headers, v2_request, v2_response

from mlpipex.monitor import Limits, ModelAlerts, ModelInfo, MonitorSettings
from mlpipex.stats.profile import build_profile

pytest.importorskip("mlpipex.drift")
httpx = pytest.importorskip("httpx")
parser = pytest.importorskip("prometheus_client.parser")

FEATURES = ("amount", "age")


def reference_profile() -> dict:  # type: ignore[type-arg]
    rng = np.random.default_rng(1)
    columns = {"amount": rng.normal(100, 15, 20_000), "age": rng.normal(40, 10, 20_000)}
    return build_profile(columns, FEATURES)


def post_batches(client: httpx.Client, rng: np.random.Generator, *, batches: int, rows: int, amount_mean: float,
                 prefix: str) -> None:  # fmt: skip
    for b in range(batches):
        matrix = np.column_stack([rng.normal(amount_mean, 15, rows), rng.normal(40, 10, rows)]).tolist()
        now = time.time()
        event_id = f"{prefix}-{b}"
        assert client.post("/", headers=headers(event_id, "request", when=now), content=v2_request(matrix)).status_code == 200
        answer = v2_response([1] * rows, [[0.1, 0.9]] * rows)
        assert client.post("/", headers=headers(event_id, "response", when=now + 0.02), content=answer).status_code == 200


def test_a_shift_fires_exactly_one_alert_across_checks(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    model = ModelInfo("fraud", features=FEATURES, profile=reference_profile(), repository="acme/fraud-model")
    settings = MonitorSettings(state_dir=tmp_path / "state", models={"fraud": model}, schedule_seconds=3600,
                               limits=Limits(window=1000), alerts=ModelAlerts(url=receiver.url, fire_after=2, resolve_after=2),
                               drift={"alpha": 0.01, "min_samples": 200})  # fmt: skip
    rng = np.random.default_rng(2)
    try:
        server = serve_monitor(settings)
        scheduler = server.monitor.scheduler
        with httpx.Client(base_url=server.url) as client:
            post_batches(client, rng, batches=20, rows=50, amount_mean=100, prefix="same")
            for _ in range(3):
                scheduler.check()
                scheduler.deliver()
            assert receiver.received == []
            window = next(iter(server.monitor.ingestor.windows.values()))
            assert window.drift["verdict"] == "no_drift"

            post_batches(client, rng, batches=20, rows=50, amount_mean=130, prefix="shifted")  # the window is now all shifted
            for _ in range(5):
                scheduler.check()
                scheduler.deliver()
            text = client.get("/metrics").text
        assert len(receiver.received) == 1
        [alert] = receiver.received
        drifted = {f["name"] for f in alert["features"] if f["drifted"]}
        assert drifted == {"amount"}
        assert alert["verdict"] == "drift" and alert["window"]["samples"] == 1000
        p_values = {s.labels["feature"]: s.value for f in parser.text_string_to_metric_families(text)
                    for s in f.samples if s.name == "mlpipex_monitor_drift_p_value"}  # fmt: skip
        assert p_values["amount"] < 1e-6 and p_values["age"] > 0.01
    finally:
        receiver.close()
