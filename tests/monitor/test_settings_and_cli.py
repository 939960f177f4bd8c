"""Settings from mlpipex.yaml (references from files, packages), the canary's metrics source, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _kserve_events import free_port, headers, v2_request, v2_response, wait_until

from mlpipex.config import load_config
from mlpipex.errors import ConfigError, InputError
from mlpipex.monitor import MonitorSource, load_reference, settings_from_configs


def profile_file(quickstart: Path) -> Path:
    from mlpipex.oci._package import reference_profile

    profile = reference_profile(load_config(str(quickstart / "mlpipex.yaml"), check_files=False))
    assert profile is not None
    path = quickstart / "profile.json"
    path.write_text(json.dumps(profile))
    return path


def with_monitoring(quickstart: Path, text: str) -> str:
    config = quickstart / "mlpipex.yaml"
    config.write_text(config.read_text() + "\n" + text)
    return str(config)


def test_references_from_a_profile_file_and_a_pulled_package(quickstart: Path) -> None:
    profile = profile_file(quickstart)
    blob = load_reference(str(profile))
    assert blob["profile"]["format"] == "mlpipex.profile/v1" and len(blob["features"]) == 30
    package = quickstart / "pulled"
    package.mkdir()
    (package / "config.json").write_text(json.dumps({"name": "breast-cancer", "features": blob["features"],
                                                     "profile": blob["profile"], "metrics": {"accuracy": 0.977}}))  # fmt: skip
    assert load_reference(str(package))["metrics"] == {"accuracy": 0.977}
    with pytest.raises(InputError, match="neither a file, a directory nor an OCI reference"):
        load_reference("no-such-thing")
    (quickstart / "bad.json").write_text('{"hello": 1}')
    with pytest.raises(InputError, match="neither a reference profile"):
        load_reference(str(quickstart / "bad.json"))


def test_settings_from_the_config(quickstart: Path) -> None:
    profile_file(quickstart)
    path = with_monitoring(quickstart, """monitoring:
  schedule: 30s
  reference: profile.json
  repository: acme/breast-cancer
  window: 5000
  join_timeout: 2m
  alerts: {url: "http://app.example/alerts/drift", fire_after: 3, resolve_after: 4}
""")
    settings = settings_from_configs([path], state_dir=quickstart / "state")
    model = settings.models["breast-cancer"]
    assert model.features[0] == "mean_radius" and model.profile is not None and model.repository == "acme/breast-cancer"
    assert model.sla_ms == {"p50": 2.0, "p95": 5.0, "p99": 10.0}
    assert settings.schedule_seconds == 30 and settings.limits.window == 5000 and settings.limits.ttl == 120
    assert (settings.alerts.fire_after, settings.alerts.resolve_after) == (3, 4)


def test_an_alert_url_without_a_repository_is_a_config_error(quickstart: Path) -> None:
    path = with_monitoring(quickstart, 'monitoring:\n  alerts: {url: "http://app.example/alerts/drift"}\n')
    with pytest.raises(ConfigError, match=r"monitoring\.repository"):
        settings_from_configs([path], state_dir=quickstart / "state")


def test_the_canary_reads_the_monitor_when_the_deploy_config_says_so(quickstart: Path) -> None:
    from mlpipex.rollouts import metrics_source

    path = with_monitoring(quickstart, "deploy:\n  monitor: {url: 'http://monitor.example:8090/', timeout: 3}\n"
                                       "  environments: [{name: prod, canary: {steps: [50, 100]}}]\n")  # fmt: skip
    config = load_config(path, check_files=False)
    source = metrics_source(config, config.deploy.environments[0])
    assert isinstance(source, MonitorSource) and source.url == "http://monitor.example:8090" and source.timeout == 3
    both = with_monitoring(quickstart, "  prometheus: {url: 'http://prometheus:9090'}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(both, check_files=False)
    assert "not both" in str(caught.value)


def cli(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "mlpipex", "monitor", "serve", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def test_bad_arguments_exit_2(quickstart: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mlpipex", "monitor", "serve", "--reference", "nothing"],
                            cwd=quickstart, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "SERVICE=REF" in result.stderr and "Traceback" not in result.stderr


def test_serve_keeps_its_windows_across_a_kill(quickstart: Path) -> None:
    httpx = pytest.importorskip("httpx")
    profile_file(quickstart)
    with_monitoring(quickstart, "monitoring:\n  reference: profile.json\n")
    port = free_port()
    args = ("-c", "mlpipex.yaml", "--port", str(port), "--state", "state", "--schedule", "1s")
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    process = cli(*args, cwd=quickstart)
    try:
        assert wait_until(up, timeout=60), process.stderr.read1().decode() if process.stderr else ""  # type: ignore[union-attr]
        rng = np.random.default_rng(0)
        for i in range(10):
            now = time.time()
            rows = rng.normal(10, 1, (4, 30)).tolist()
            pod = "breast-cancer-predictor-00001-deployment-6c9b8d7f5-abcde"
            assert httpx.post(url, headers=headers(f"c{i}", "request", when=now, service="breast-cancer", pod=pod),
                              content=v2_request(rows)).status_code == 200  # fmt: skip
            assert httpx.post(url, headers=headers(f"c{i}", "response", when=now + 0.003, service="breast-cancer",
                                                   pod=pod), content=v2_response([1] * 4, [[0.1, 0.9]] * 4)).status_code == 200  # fmt: skip
        from prometheus_client.parser import text_string_to_metric_families

        samples = [s.labels for f in text_string_to_metric_families(httpx.get(f"{url}/metrics").text) for s in f.samples
                   if s.name == "mlpipex_monitor_samples_total"]  # fmt: skip
        assert any(labels["namespace"] == "ml" and labels["service"] == "breast-cancer" for labels in samples)
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown hook: what was acknowledged is in the journal
        assert process.wait(timeout=30) == -signal.SIGKILL
    process = cli(*args, cwd=quickstart)
    try:
        assert wait_until(up, timeout=60)
        [window] = httpx.get(f"{url}/api/v1/windows").json()["windows"]
        assert window["requests"] == 10 and window["rows"] == 40 and window["features"][0] == "mean_radius"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_an_unusable_state_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run([sys.executable, "-m", "mlpipex", "monitor", "serve", "--state", str(blocker / "state")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "--state DIR" in result.stderr and "Traceback" not in result.stderr
