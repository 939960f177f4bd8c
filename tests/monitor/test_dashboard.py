"""The dashboard: SVG charts as pure functions, and the page in Debian's headless Chromium."""

from __future__ import annotations

import importlib.util
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from _kserve_events import headers, v2_request, v2_response

from mlpipex.monitor import Limits, ModelInfo, MonitorSettings
from mlpipex.monitor._dashboard import bucket_percentiles, bucket_rates, confidence_histogram
from mlpipex.monitor._svg import Series, bar_chart, line_chart
from mlpipex.stats.profile import build_profile

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")


def test_line_chart_draws_each_series_with_its_points_and_thresholds() -> None:
    svg = line_chart("Latency", [Series("p50", [0, 1, 2, 3], [5.0, 6.0, None, 7.0]), Series("p99", [0, 1], [9.0, 12.0])],
                     thresholds={"SLA p99": 10.0})  # fmt: skip
    paths = re.findall(r'<path class="series" data-series="([^"]+)" data-points="(\d+)" d="([^"]+)"', svg)
    assert [(name, int(n)) for name, n, _ in paths] == [("p50", 3), ("p99", 2)]
    assert paths[0][2].count("M") == 2  # the gap at None lifts the pen
    assert 'data-threshold="SLA p99"' in svg and svg.startswith("<svg") and svg.endswith("</svg>")


def test_charts_escape_text_and_say_when_there_is_no_data() -> None:
    svg = bar_chart("<b>drift</b>", ["<script>alert(1)</script>", "ok"], [0.3, 0.05], highlight=[True, False],
                    thresholds={"alert": 0.25})  # fmt: skip
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count('class="bar"') == 2 and 'fill="#d62728"' in svg
    assert "no data yet" in line_chart("x", [Series("a", [1], [None])])
    assert "no data yet" in bar_chart("x", [], [])
    assert "no data yet" in bar_chart("x", ["a"], [math.nan])


def test_time_buckets() -> None:
    times = np.arange(100, dtype=float)
    values = np.arange(100, dtype=float)
    centres, (p50,) = bucket_percentiles(times, values, qs=(50,), buckets=4)
    assert centres == [12.375, 37.125, 61.875, 86.625]
    assert p50 == [float(np.percentile(values[i * 25:(i + 1) * 25], 50)) for i in range(4)]
    _, rates = bucket_rates(times, (times >= 50).astype(float), buckets=2)
    assert rates == [0.0, 1.0]
    labels, counts = confidence_histogram(np.array([0.05, 0.95, 0.97, np.nan]))
    assert labels[0] == "0.0" and counts[0] == 1 and counts[9] == 2 and sum(counts) == 3


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_the_dashboard_in_headless_chromium(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    httpx = pytest.importorskip("httpx")
    sync_api = pytest.importorskip("playwright.sync_api")
    rng = np.random.default_rng(3)
    profile = build_profile({"amount": rng.normal(100, 15, 5000), "age": rng.normal(40, 10, 5000)}, ["amount", "age"])
    model = ModelInfo("fraud", features=("amount", "age"), profile=profile, baseline={"accuracy": 0.9},
                      sla_ms={"p95": 40.0, "p99": 60.0})  # fmt: skip
    server = serve_monitor(MonitorSettings(state_dir=tmp_path / "state", models={"fraud": model}, schedule_seconds=3600,
                                           limits=Limits(window=2000), quality_min_labels=10))  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        for i in range(60):
            pod = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p" if i < 40 else "fraud-predictor-00002-deployment-7c6b5d4f3-q9w8e"
            now = time.time()
            rows = np.column_stack([rng.normal(100 + (30 if i >= 40 else 0), 15, 20), rng.normal(40, 10, 20)]).tolist()
            client.post("/", headers=headers(f"e{i}", "request", when=now, pod=pod), content=v2_request(rows))
            if i % 10 != 9:  # some requests fail: no response logged
                probs = rng.uniform(0.5, 1.0, 20)
                client.post("/", headers=headers(f"e{i}", "response", when=now + rng.uniform(0.005, 0.05), pod=pod),
                            content=v2_response([1] * 20, [[1 - p, p] for p in probs]))  # fmt: skip
            time.sleep(0.01)
        client.post("/api/v1/labels", json={"items": [{"id": f"e{i}", "labels": [1] * 20} for i in range(0, 40)]})
    server.monitor.ingestor.expire(time.time() + 3600)  # the unanswered ones count as errors now
    server.monitor.scheduler.check()

    results = ROOT / ".mlpipex" / "test-results"
    results.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            response = page.goto(f"{server.url}/dashboard")
            assert response is not None and response.status == 200
            assert page.locator("section.model").count() == 1
            assert page.locator("svg.chart").count() == 6
            assert page.locator("svg[aria-label='Accuracy from delayed labels'] path.series").count() == 1
            paths = page.locator("path.series")
            assert paths.count() >= 6  # p50/p95/p99 of two revisions, plus error rates
            assert all(int(paths.nth(i).get_attribute("data-points") or 0) >= 1 for i in range(paths.count()))
            assert page.locator("line[data-threshold='SLA p99']").count() == 1
            assert page.locator("line[data-threshold='offline']").count() == 1
            assert page.locator("rect.bar").count() >= 10  # confidence histogram
            box = page.locator("svg.chart").first.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100  # laid out, not collapsed
            assert page.locator("table.history tr").count() == 3  # header + two revisions
            if importlib.util.find_spec("mlpipex.drift"):  # drift charts: continuous features are KS-tested, so
                # they have a p-value bar (the PSI chart holds categorical features and binned PSI only)
                evidence = page.locator("svg[aria-label='Drift: −log10 p-value (corrected) per feature']")
                assert evidence.locator("rect.bar[data-label='amount']").count() == 1
            page.screenshot(path=str(results / "monitor-dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert (results / "monitor-dashboard.png").stat().st_size > 10_000


def test_the_rollout_history_from_the_inference_service(tmp_path: Path) -> None:
    import json

    from mlpipex.kserve.rollout import state_of
    from mlpipex.monitor import Ingestor, Monitor
    from mlpipex.monitor._dashboard import render_dashboard

    history = [{"action": "deploy", "artifact": "ghcr.io/acme/fraud@sha256:aaa", "traffic": 100, "at": "2026-11-27T10:00:00Z",
                "by": "alice", "pull_request": 12},
               {"action": "promote", "artifact": "ghcr.io/acme/fraud@sha256:bbb", "traffic": 10, "at": "2026-11-28T09:00:00Z",
                "by": "mlpipex canary"}]  # fmt: skip
    service = {"metadata": {"name": "fraud", "namespace": "ml", "annotations": {"mlpipex.dev/history": json.dumps(history)}}}
    asked: list[tuple[str, str]] = []

    def from_cluster(namespace: str, name: str) -> list[dict[str, object]]:
        asked.append((namespace, name))
        return [dict(e) for e in state_of(service).history]

    monitor = Monitor(MonitorSettings(state_dir=tmp_path / "state", deployments=from_cluster))
    try:
        ingestor: Ingestor = monitor.ingestor
        ingestor.ingest(headers("a", "request", when=time.time()), v2_request([[1.0, 2.0]]))
        page = render_dashboard(monitor)
        render_dashboard(monitor)  # a reload within the cache time does not ask the cluster again
        assert asked == [("ml", "fraud")]
        rows = re.findall(r"<tr><td>([^<]+)</td><td>(deploy|promote)</td>", page)
        assert rows == [("2026-11-28T09:00:00Z", "promote"), ("2026-11-27T10:00:00Z", "deploy")]  # newest first
    finally:
        monitor.close()

    def down(namespace: str, name: str) -> list[dict[str, object]]:
        raise ConnectionError("connection refused")

    broken = Monitor(MonitorSettings(state_dir=tmp_path / "other", deployments=down))
    try:
        broken.ingestor.ingest(headers("a", "request", when=time.time()), v2_request([[1.0, 2.0]]))
        assert "cluster unavailable: connection refused" in render_dashboard(broken)
    finally:
        broken.close()
