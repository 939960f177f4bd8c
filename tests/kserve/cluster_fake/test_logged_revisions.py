"""`mlpipex canary run` judges the canary's own events: it names both predictors to the monitor.

The predictors' logger URLs (as the API server stores them) carry their revision markers; the
events are posted to those URLs as KServe v0.20.0's Standard-mode agent posts them (no pod name,
no endpoint), the canary's first, so the monitor's guess by age would take the stable for the
canary and pass a canary three times slower.
"""

from __future__ import annotations

import time

import pytest
import yaml
from monitor.conftest import RunningMonitor

from tests.kserve.cluster_fake.test_rollouts import A, B, fake, obj, project, run  # noqa: F401  (fixtures)

httpx = pytest.importorskip("httpx")


def _post_pairs(url: str, count: int, latency: float, prefix: str) -> None:
    from _kserve_events import headers, v1_request, v1_response

    start = time.time()
    with httpx.Client() as client:
        for i in range(count):
            for kind, body, when in (("request", v1_request([[1.0, 2.0]]), start + i),
                                     ("response", v1_response([[0.2, 0.8]]), start + i + latency)):  # fmt: skip
                sent = client.post(url, headers=headers(f"{prefix}-{i}", kind, when=when, service="breast-cancer",
                                                        namespace="ml-prod", pod="http://localhost:9081/", endpoint=""),
                                   content=body)  # fmt: skip
                assert sent.status_code == 200, sent.text


def test_canary_run_judges_the_windows_of_the_two_predictors_by_name(project, fake, capsys, tmp_path):  # noqa: F811
    from mlpipex.monitor import MonitorSettings, create_monitor_app

    monitor = RunningMonitor(create_monitor_app(MonitorSettings(state_dir=tmp_path / "monitor", schedule_seconds=3600)))
    try:
        data = yaml.safe_load(project.read_text())
        data["deploy"]["logger"] = {"url": f"{monitor.url}/events"}
        data["deploy"]["monitor"] = {"url": monitor.url}
        project.write_text(yaml.safe_dump(data))
        c = ["-c", str(project), "--env", "production", "--timeout", "5"]
        run(capsys, "deploy", *c, "--artifact", A)
        run(capsys, "deploy", *c, "--artifact", B)
        spec = obj(fake)["spec"]
        stable_url, canary_url = spec["predictor"]["logger"]["url"], spec["canary"][0]["predictor"]["logger"]["url"]
        assert (stable_url, canary_url) == (f"{monitor.url}/events?revision=rev-aaaaaaaaaa",
                                            f"{monitor.url}/events?revision=rev-bbbbbbbbbb")  # fmt: skip
        _post_pairs(canary_url, 60, 0.030, "canary")
        _post_pairs(stable_url, 60, 0.010, "stable")
        code, out, _ = run(capsys, "canary", "run", *c, "--once")
        assert code == 1 and "rollback at 10% → 100%" in out and "latency_p95" in out, out
    finally:
        monitor.stop()


def test_prometheus_queries_may_name_the_roles_predictor():
    from mlpipex.kserve.analysis import PrometheusSource

    source = PrometheusSource("http://prometheus:9090", {"latency_p95": 'q{deployment="$service-$revision-predictor"}'},
                              window_seconds=60)  # fmt: skip
    names = {"canary": "rev-bbbbbbbbbb", "stable": "rev-aaaaaaaaaa"}
    query = source.query_for(namespace="ml", service="bc", role="stable", metric="latency_p95", revisions=names)
    assert query == 'q{deployment="bc-rev-aaaaaaaaaa-predictor"}'
    # without the names (no deploy.logger) the placeholder stays as written, as any unknown one does
    assert source.query_for(namespace="ml", service="bc", role="canary", metric="latency_p95").endswith('$revision-predictor"}')
