"""The canary analysis reading real Prometheus (Debian's package), scraping a small exporter.

The exporter stands for the model servers: one latency gauge per role (canary,
stable), a fresh draw at every scrape. Prometheus scrapes it every 200 ms, so a
few seconds give the analysis enough samples.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
import yaml

from _fake_server import FakeServer, free_port
from mlpipex.cli import main
from mlpipex.errors import ExternalError, InputError
from mlpipex.kserve.analysis import PrometheusSource
from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, WEIGHTING, FakeKubernetes

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
QUERY = 'mlpipex_test_latency_ms{service="$service", role="$role"}'
A = "ghcr.io/acme/models/bc@sha256:" + "a" * 64
B = "ghcr.io/acme/models/bc@sha256:" + "b" * 64


class Exporter:
    def __init__(self) -> None:
        self.canary_scale = 1.0
        rng = np.random.default_rng(0)
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                lines = ["# TYPE mlpipex_test_latency_ms gauge"]
                for role, scale in (("stable", 1.0), ("canary", exporter.canary_scale)):
                    value = rng.gamma(4.0, 5.0) * scale
                    lines.append(f'mlpipex_test_latency_ms{{service="breast-cancer",role="{role}"}} {value:.4f}')
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = FakeServer(Handler).start()
        self.address = self.http.address


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    if not Path(PROMETHEUS).exists():
        pytest.skip("Debian's prometheus is not installed (`make test` installs it)")
    root = tmp_path_factory.mktemp("prometheus")
    exporter = Exporter()
    config = {"global": {"scrape_interval": "200ms", "scrape_timeout": "150ms"},
              "scrape_configs": [{"job_name": "models", "static_configs": [{"targets": [exporter.address]}]}]}  # fmt: skip
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen([PROMETHEUS, f"--config.file={root / 'prometheus.yml'}",
                                f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    source = PrometheusSource(url, {"latency_p95": QUERY}, window_seconds=6, step_seconds=0.2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # ready, and six seconds of history
        try:
            if source.samples(namespace="ml", service="breast-cancer", role="stable", metric="latency_p95").size >= 30:
                break
        except (ExternalError, InputError):
            pass
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("prometheus did not collect samples in time")
    yield url, exporter
    process.terminate()
    process.wait(timeout=10)


def test_samples_are_the_series_points(prometheus):
    url, _ = prometheus
    source = PrometheusSource(url, {"latency_p95": QUERY}, window_seconds=6, step_seconds=0.2)
    stable = source.samples(namespace="ml", service="breast-cancer", role="stable", metric="latency_p95")
    assert stable.size >= 25
    assert 5 < float(np.median(stable)) < 40  # gamma(4, 5): median ≈ 18
    assert source.samples(namespace="ml", service="other", role="stable", metric="latency_p95").size == 0


def test_bad_query_and_unreachable(prometheus):
    url, _ = prometheus
    bad = PrometheusSource(url, {"latency_p95": "rate(nope[)"}, window_seconds=6, step_seconds=0.2)
    with pytest.raises(InputError, match="Prometheus rejected the query for `latency_p95`"):
        bad.samples(namespace="ml", service="s", role="canary", metric="latency_p95")
    with pytest.raises(InputError, match="has no PromQL query"):
        bad.samples(namespace="ml", service="s", role="canary", metric="error_rate")
    down = PrometheusSource(f"http://127.0.0.1:{free_port()}", {"latency_p95": QUERY}, window_seconds=6)
    with pytest.raises(ExternalError, match="cannot query Prometheus"):
        down.samples(namespace="ml", service="s", role="canary", metric="latency_p95")


@pytest.mark.skipif(not CRD_PATH.exists(), reason=f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")
def test_canary_run_from_prometheus(prometheus, quickstart, tmp_path, monkeypatch, capsys):
    url, exporter = prometheus
    with FakeKubernetes(kserve=WEIGHTING) as fake:  # a Standard-mode canary needs a KServe that weights it
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
        path = quickstart / "mlpipex.yaml"
        data = yaml.safe_load(path.read_text())
        data["deploy"] = {
            "storage": "fetch",  # made-up digests: no modelcar image to look up
            "environment_tags": False,  # made-up digests on ghcr.io: the tags' tests use a real registry (tests/oci)
            "prometheus": {"url": url, "step_seconds": 0.2},
            "environments": [{"name": "production", "namespace": "ml", "canary": {
                "steps": [20, 100], "interval": "6s", "min_samples": 20,
                "metrics": [{"name": "latency_p95", "margin": 0.1, "query": QUERY}]}}],
        }  # fmt: skip
        path.write_text(yaml.safe_dump(data))
        c = ["-c", str(path), "--timeout", "5"]
        assert main(["deploy", *c, "--artifact", A]) == 0
        assert main(["deploy", *c, "--artifact", B]) == 0
        capsys.readouterr()
        assert main(["canary", "run", *c, "--once"]) == 0
        assert "advance at 20% → 100%" in capsys.readouterr().out
        exporter.canary_scale = 2.0  # the next model is much slower: the judgement must not hinge on luck
        time.sleep(6.5)
        assert main(["deploy", *c, "--artifact", A.replace("a" * 64, "c" * 64)]) == 0
        capsys.readouterr()
        assert main(["canary", "run", *c, "--once"]) == 1
        out = capsys.readouterr().out
        assert "rollback at 20% → 100%" in out and "latency_p95" in out
        spec = fake.objects[("ml", "breast-cancer")]["spec"]
        assert "canary" not in spec and spec["predictor"]["model"]["storageUri"].endswith("b" * 64)
