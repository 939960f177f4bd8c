"""The loop end to end, on one machine: PR gates → package in a real registry → merge deploys
(the App, the fake GitHub and Kubernetes APIs) → a real `mlpipex serve` pod answers → a
drift alert opens the retraining PR → /rollback refused for a reader, done for a writer.

Each step is asserted and told in `.mlpipex/test-results/e2e-story.md`.
Not yet here (issue #8): traffic split across several serve processes by the canary's
percentages, and the monitor's own drift detection driving the alert.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from handlers.conftest import REPO, World
from oci.conftest import free_port, start_registry

from mlpipex.cli import main
from mlpipex.kserve.rollout import state_of

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / ".mlpipex" / "test-results" / "e2e-story.md"
EXCLUDE = {"diagnosis", "training_prediction", "training_score"}  # the label and the offline outputs


class Story:
    def __init__(self) -> None:
        STORY.parent.mkdir(parents=True, exist_ok=True)
        self.lines = ["# mlpipex end to end", ""]
        self.started = time.monotonic()

    def step(self, text: str) -> None:
        self.lines.append(f"- [{time.monotonic() - self.started:6.1f} s] {text}")
        STORY.write_text("\n".join(self.lines) + "\n")


def cli(*args: str) -> int:
    return main(list(args))


def release(quickstart: Path, world: World, number: int, version: str, registry: str, monkeypatch, tmp_path: Path) -> str:
    """One pull request's CI: gates reported to GitHub, the package pushed; the artifact."""
    config = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data["model"]["version"] = version
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    head = world.github.open_pull(number, head=f"release-{version}", author="dev")
    event = tmp_path / f"event-{number}.json"
    event.write_text(json.dumps({"pull_request": {"number": number, "head": {"sha": head, "ref": f"release-{version}",
                                 "repo": {"full_name": REPO}}, "base": {"repo": {"full_name": REPO}}}}))  # fmt: skip
    outputs = tmp_path / f"outputs-{number}"
    for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": world.github.url, "GITHUB_TOKEN": "ghs_ci",
                       "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event), "GITHUB_RUN_ID": str(number),
                       "GITHUB_WORKSPACE": str(quickstart), "GITHUB_OUTPUT": str(outputs)}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(quickstart)
    assert cli("gate", "-c", str(config), "--only", "schema,smoke", "--quiet") == 0
    assert cli("package", "-c", str(config)) == 0
    assert cli("push", "-c", str(config), "--to", f"{registry}/acme/breast-cancer", "--insecure") == 0
    artifact = next(line.split("=", 1)[1] for line in outputs.read_text().splitlines() if line.startswith("artifact="))
    return artifact


def serve(artifact: str, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "mlpipex", "serve", artifact, "--http-port", str(port)],
                               cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/v2/models/breast-cancer/ready", timeout=1) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"mlpipex serve {artifact} did not become ready: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]


def test_the_loop(world, quickstart, tmp_path, monkeypatch):
    story = Story()
    registry = start_registry(tmp_path / "registry")
    pods: list[subprocess.Popen[bytes]] = []
    try:
        # 1-2. A pull request: gates reported on GitHub, the package pushed to the registry.
        first = release(quickstart, world, 5, "1.1.0", registry.address, monkeypatch, tmp_path)
        [run] = [r for r in world.github.check_runs.values() if r["name"] == "mlpipex / breast-cancer"]
        assert run["conclusion"] == "success" and run["external_id"] == first
        assert any(c["body"].startswith("<!-- mlpipex") for c in world.github.comments[5])
        story.step(f"PR #5: gates passed (check run + sticky comment); pushed `{first}`")

        # 3. The merge webhook reaches the App, which deploys the gated digest to staging.
        world.merge(5)
        assert world.serving("ml-staging") == (first, 100)
        story.step("merge of #5: the App deployed it to staging at 100%")
        uri = world.kube.objects[("ml-staging", "breast-cancer")]["spec"]["predictor"]["model"]["storageUri"]
        pod, base = serve(uri.removeprefix("oci://"), quickstart)
        pods.append(pod)
        rows = list(csv.DictReader((quickstart / "data" / "holdout.csv").open()))
        row = [float(v) for k, v in rows[0].items() if k not in EXCLUDE]
        request = urllib.request.Request(f"{base}/v1/models/breast-cancer:predict", data=json.dumps({"instances": [row]}).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            predictions = json.loads(response.read())["predictions"]
        assert len(predictions) == 1
        story.step(f"staging's revision runs as a real `mlpipex serve` pulled from the registry; it answered {predictions[0]!r}")

        # 4. A second version; /promote production under production's rules.
        world.comment(5, "lead", "/promote production")
        assert world.serving("ml-prod") == (first, 100)
        second = release(quickstart, world, 6, "1.2.0", registry.address, monkeypatch, tmp_path)
        world.merge(6)
        world.comment(6, "lead", "/promote production")
        assert world.serving("ml-prod") == (second, 10)
        world.comment(6, "lead", "/promote full")
        assert world.serving("ml-prod") == (second, 100)
        story.step(f"#6 `{second}`: staging, then a production canary at 10%, promoted to 100% by a maintainer")

        # 5. Drift: an alert in the monitor's format opens the retraining pull request.
        from mlpipex.monitor import alert_body

        now = time.time()
        body = alert_body(alert_id="e2e:drift:1", model="breast-cancer", repository=REPO, environment="production",
                          window_label="ml-prod/breast-cancer", window_start=now - 900, window_end=now, samples=2000,
                          features=[{"name": "mean radius", "test": "ks", "statistic": 0.4, "p_value": 1e-20,
                                     "adjusted_p_value": 1e-19, "psi": None, "drifted": True}],
                          severity="critical", fired_at=now, summary="mean radius shifted")  # fmt: skip
        reply = world.client.post("/alerts/drift", content=json.dumps(body).encode(),
                                  headers={"Authorization": "Bearer alert-token", "Content-Type": "application/json"})  # fmt: skip
        assert reply.status_code in (200, 202), reply.text
        world.work()
        retrain = [p for p in world.github.pulls.values() if p["head_ref"] == "mlpipex/retrain/breast-cancer"]
        assert len(retrain) == 1 and "mean radius" in retrain[0]["body"]
        story.step("a drift alert from the monitor opened the retraining pull request")

        # 6. /rollback: refused for a reader, done for a writer.
        world.comment(6, "reader", "/rollback --env production")
        assert "needs `write`" in world.last_reply(6) and world.serving("ml-prod") == (second, 100)
        world.comment(6, "dev", "/rollback --env production")
        assert world.serving("ml-prod") == (first, 100)
        history = [h["action"] for h in state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history]
        assert history[-1] == "rollback"
        story.step("/rollback from a reader was refused; from a writer it returned production to the first model")
    finally:
        for pod in pods:
            pod.terminate()
            pod.wait(timeout=10)
        registry.stop()
