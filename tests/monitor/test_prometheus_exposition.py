"""/metrics as Prometheus' own tools see it: promtool's linter, a real Prometheus scrape, the example rules.

The monitor is filled through its HTTP API (events, labels, a drift check) so that
every family has series; then Debian's ``promtool check metrics`` must be silent,
a real Prometheus (Debian's package) must scrape it and evaluate
deploy/prometheus/mlpipex-monitor.rules.yml over the new names.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from _kserve_events import free_port, headers, v2_request, v2_response

from mlpipex.monitor import Limits, ModelInfo, MonitorSettings
from mlpipex.stats.profile import build_profile

httpx = pytest.importorskip("httpx")
pytest.importorskip("prometheus_client")
pytest.importorskip("mlpipex.drift")

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "mlpipex-monitor.rules.yml"
FEATURES = ("amount", "age")
FAMILIES = {  # every family the monitor exports, by the name Prometheus' parser gives it
    "events", "malformed_events", "refused_requests", "joins", "pending_joins", "windows", "requests", "errors",
    "samples", "error_ratio", "latency_seconds", "confidence", "drift_statistic", "drift_p_value", "drift_psi",
    "drift_detected", "quality", "labelled_predictions", "alerts", "state_bytes", "journal_bytes", "unjoined",
}  # fmt: skip


def needs(tool: str) -> None:
    if not Path(tool).exists():
        pytest.skip(f"{tool} is not installed (Debian's prometheus package; `make test` installs it)")


def filled_monitor(tmp_path: Path, serve_monitor):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    profile = build_profile({"amount": rng.normal(100, 15, 20_000), "age": rng.normal(40, 10, 20_000)}, FEATURES)
    model = ModelInfo("fraud", features=FEATURES, profile=profile, repository="acme/fraud-model")
    settings = MonitorSettings(state_dir=tmp_path / "state", models={"fraud": model}, schedule_seconds=3600,
                               limits=Limits(window=1000), drift={"alpha": 0.01, "min_samples": 200})  # fmt: skip
    server = serve_monitor(settings)
    with httpx.Client(base_url=server.url) as client:
        for b in range(20):  # amount shifted: the drift check finds it
            matrix = np.column_stack([rng.normal(130, 15, 50), rng.normal(40, 10, 50)]).tolist()
            now = time.time()
            assert client.post("/", headers=headers(f"r{b}", "request", when=now), content=v2_request(matrix)).status_code == 200
            answer = v2_response([1] * 50, [[0.1, 0.9]] * 50)
            assert client.post("/", headers=headers(f"r{b}", "response", when=now + 0.02), content=answer).status_code == 200
        assert client.post("/", headers=headers("lonely", "request", when=time.time()), content=b"{").status_code == 400
        labels = {"items": [{"id": f"r{b}", "labels": [1] * 50} for b in range(20)]}
        assert client.post("/api/v1/labels", json=labels).status_code == 200
    server.monitor.scheduler.check()
    return server


def test_promtool_check_metrics_is_clean_on_the_real_output(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    needs(PROMTOOL)
    from prometheus_client.parser import text_string_to_metric_families

    server = filled_monitor(tmp_path, serve_monitor)
    text = httpx.get(f"{server.url}/metrics").text
    families = {f.name.removeprefix("mlpipex_monitor_"): f for f in text_string_to_metric_families(text)}
    assert set(families) >= FAMILIES - {"unjoined", "refused_requests"}  # every family has HELP/TYPE at least
    assert families["latency_seconds"].type == "summary" and families["labelled_predictions"].type == "gauge"
    assert {s.name for s in families["latency_seconds"].samples} == {"mlpipex_monitor_latency_seconds",
                                                                      "mlpipex_monitor_latency_seconds_sum", "mlpipex_monitor_latency_seconds_count"}  # fmt: skip
    assert {s.labels["feature"] for s in families["drift_detected"].samples if s.value == 1.0} == {"amount"}
    assert [s.value for s in families["labelled_predictions"].samples] == [1000]
    linted = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


def test_openmetrics_when_prometheus_asks_for_it(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    server = filled_monitor(tmp_path, serve_monitor)
    reply = httpx.get(f"{server.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert reply.headers["content-type"].startswith("application/openmetrics-text") and reply.text.endswith("# EOF\n")
    names = {f.name for f in text_string_to_metric_families(reply.text)}
    assert {"mlpipex_monitor_requests", "mlpipex_monitor_latency_seconds"} <= names
    plain = httpx.get(f"{server.url}/metrics")
    assert plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_each_monitor_has_its_own_registry(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import REGISTRY, generate_latest

    server = filled_monitor(tmp_path / "one", serve_monitor)
    other = serve_monitor(MonitorSettings(state_dir=tmp_path / "two", models={}, schedule_seconds=3600))
    assert "mlpipex_monitor_requests_total{" in httpx.get(f"{server.url}/metrics").text
    assert "mlpipex_monitor_requests_total{" not in httpx.get(f"{other.url}/metrics").text
    assert b"mlpipex_monitor" not in generate_latest(REGISTRY)  # nothing leaks into the process-global registry


def test_the_example_rules_pass_promtool() -> None:
    needs(PROMTOOL)
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS: 9 rules found" in checked.stdout, checked.stdout + checked.stderr


def query(url: str, promql: str) -> list[dict]:  # type: ignore[type-arg]
    reply = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5)
    reply.raise_for_status()
    return reply.json()["data"]["result"]  # type: ignore[no-any-return]


def test_a_real_prometheus_scrapes_the_monitor_and_evaluates_the_rules(tmp_path: Path, serve_monitor) -> None:  # type: ignore[no-untyped-def]
    needs(PROMETHEUS)
    server = filled_monitor(tmp_path, serve_monitor)
    config = {"global": {"scrape_interval": "200ms", "scrape_timeout": "150ms", "evaluation_interval": "200ms"},
              "rule_files": [str(RULES)],
              "scrape_configs": [{"job_name": "monitor", "static_configs": [{"targets": [server.url.removeprefix("http://")]}]}]}  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
                                f"--web.listen-address={url.removeprefix('http://')}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline, p99, firing = time.monotonic() + 60, [], []
        while time.monotonic() < deadline and not (p99 and firing):
            time.sleep(0.5)
            try:
                p99 = query(url, 'revision:mlpipex_monitor_latency_seconds:p99{service="fraud"}')
                firing = query(url, 'ALERTS{alertname="MlpipexFeatureDrift", alertstate="firing"}')
            except httpx.HTTPError:
                continue
        assert p99 and firing, process.stderr.read1().decode() if process.stderr else ""  # type: ignore[union-attr]
        assert float(p99[0]["value"][1]) == pytest.approx(0.020, abs=1e-3)  # 20 ms, in seconds
        assert [a["metric"]["feature"] for a in firing] == ["amount"]
        [up] = query(url, 'up{job="monitor"}')
        assert up["value"][1] == "1"
        scraped = query(url, 'scrape_samples_scraped{job="monitor"}')
        assert float(scraped[0]["value"][1]) > 40
        assert float(query(url, "sum(mlpipex_monitor_requests_total)")[0]["value"][1]) == 20
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_importing_the_monitor_package_does_not_need_prometheus_client() -> None:
    """The canary CLI and the App import MonitorSource from mlpipex.monitor without the `monitor` extra."""
    import sys

    probe = "import sys, mlpipex.monitor; from mlpipex.monitor import MonitorSource; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "False"), out.stderr
