"""The loop end to end, on one machine, its cluster half on a real control plane: PR gates →
package (and modelcar image) in a real registry → the App's merge deploys → real `mlpipex serve`
pods → a canary weighted by mlpipex's HTTPRoute, judged on the monitor's samples, 10 → 50 → 100
→ shifted inputs → the monitor alerts the App → retraining PR → /rollback refused for a reader,
done for a writer.

What runs where: GitHub is the fake GitHub API (validated against GitHub's OpenAPI); the App
runs in-process; the registry is Debian's docker-registry; the cluster is the real kube-apiserver,
scheduler and KWOK nodes with KServe v0.20.0's own controller and webhooks and the Gateway API
CRDs (tests/cluster's session fixtures: under CI=true a missing control plane fails the test,
without Go it skips). The App's merge and ChatOps apply into it; KServe makes the predictor
Deployments, Services and (KWOK's) pods; mlpipex writes the HTTPRoute. KWOK's pods run nothing,
so each pod's modelcar image leads, through the registry, to the artifact a real `mlpipex
serve` serves (tests/e2e/pods.py), and requests go where the live objects route them, logged as
the pod's injected KServe agent is told to (tests/e2e/live.py, router.py): every event says
`ce-source: http://localhost:9081/` and no endpoint, as on a real KServe v0.20.0, and the monitor
tells canary from stable by the `?revision=` mlpipex put in each predictor's logger URL. No gateway
controller runs: the router reads the route's weights as a Gateway would.

Each step is asserted and told in `.mlpipex/test-results/e2e-story.md`.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from app.handlers.conftest import REPO, World
from monitor.conftest import RunningMonitor
from oci.conftest import start_registry

from mlpipex.cli import main
from mlpipex.kserve.rollout import state_of

from .live import Backend
from .pods import Pods
from .router import LiveRouter

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / ".mlpipex" / "test-results" / "e2e-story.md"
EXCLUDE = {"diagnosis", "training_prediction", "training_score"}  # the label and the offline outputs


class Story:
    """The steps, each told with the time it was done and whether the real control plane took part."""

    def __init__(self, setting: str) -> None:
        STORY.parent.mkdir(parents=True, exist_ok=True)
        self.lines = ["# mlpipex end to end", "", setting, ""]
        self.started = time.monotonic()

    def step(self, text: str, *, cluster: bool = False) -> None:
        where = "**real control plane** · " if cluster else ""
        self.lines.append(f"- [{time.monotonic() - self.started:6.1f} s] {where}{text}")
        STORY.write_text("\n".join(self.lines) + "\n")


def cli(*args: str) -> int:
    return main(list(args))


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def train_next_version(quickstart: Path, version: str, c: float) -> str:
    """The quickstart's candidate retrained with another regularisation (the team's next
    model version), exported by the quickstart's own train.py; its path in the repository."""
    import importlib.util

    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    spec = importlib.util.spec_from_file_location("quickstart_train", quickstart / "train.py")
    assert spec and spec.loader
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    data = load_breast_cancer()
    X_train, _, y_train, _ = train_test_split(data.data, data.target, test_size=train.HOLDOUT_SHARE,
                                              stratify=data.target, random_state=train.SEED)  # fmt: skip
    model = train.pipeline(c=c).fit(X_train, y_train)
    path = f"models/model-{version}.onnx"
    (quickstart / path).write_bytes(train.export(model, data.data.shape[1], version).SerializeToString())
    git(quickstart, "add", path)
    return path


def release(quickstart: Path, world: World, number: int, version: str, registry: str, monkeypatch, tmp_path: Path,
            model: str = "models/model.onnx") -> str:  # fmt: skip
    """One pull request's CI: a commit on a branch of the model repository, gates reported
    to GitHub, the package pushed; the artifact."""
    config = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data["model"]["version"] = version
    data["model"]["path"] = model
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    git(quickstart, "checkout", "-q", "-B", f"release-{version}")
    git(quickstart, "commit", "-q", "-am", f"breast-cancer {version}")
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


def digest(reference: str) -> str:
    return reference.rsplit("@", 1)[1]


def git_repository(quickstart: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed (apt-get install git)")
    git(quickstart, "init", "-q", "-b", "main")
    git(quickstart, "add", ".")
    git(quickstart, "commit", "-q", "-m", "the quickstart model repository")


def with_modelcar_base(quickstart: Path, registry: str, tmp_path: Path) -> None:
    """`mlpipex package` also builds the modelcar image KServe v0.20.0 runs for a bare oci://: its base
    (a busybox shell, pushed to the test registry) pinned in package.modelcar.base."""
    from oci.modelcar_base import busybox_binary, busybox_layer, push_image

    from mlpipex.oci import RegistryClient

    base = push_image(RegistryClient(registry), "base/busybox", "1.35", [busybox_layer(busybox_binary(tmp_path / "busybox"))])
    config = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    data.setdefault("package", {})["modelcar"] = {"base": base}
    config.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.timeout(900)
def test_the_loop_on_the_real_control_plane(live_world, quickstart, tmp_path, monkeypatch):
    """The loop with its cluster half on the real kube-apiserver and KServe v0.20.0's controller."""
    from mlpipex.kserve.manifests import predictor_name

    world = live_world
    staging, production = world.namespaces["staging"], world.namespaces["production"]
    story = Story("Cluster: the real kube-apiserver v1.34.4, kube-scheduler and KWOK nodes with KServe v0.20.0's own "
                  "controller and webhooks and the Gateway API CRDs (steps marked **real control plane** ran there). "
                  "GitHub: the fake GitHub API. Registry: docker-registry. Pods: real `mlpipex serve` processes.")
    registry = start_registry(tmp_path / "registry")
    git_repository(quickstart)
    with_modelcar_base(quickstart, registry.address, tmp_path)  # committed with the first release
    pods = Pods(quickstart)
    servers: list[RunningMonitor] = []
    try:
        # 1-2. A pull request: gates reported on GitHub, the package (and its modelcar image) pushed.
        first = release(quickstart, world, 5, "1.1.0", registry.address, monkeypatch, tmp_path)
        [run] = [r for r in world.github.check_runs.values() if r["name"] == "mlpipex / breast-cancer"]
        assert run["conclusion"] == "success" and run["external_id"] == first
        assert any(c["body"].startswith("<!-- mlpipex") for c in world.github.comments[5])
        story.step(f"PR #5: gates passed (check run + sticky comment); pushed `{first}` with its modelcar image")

        # 3. The merge webhook reaches the App, which deploys the gated digest into the real control plane.
        world.merge(5)
        assert world.serving(staging) == (first, 100), world.last_reply(5) if world.github.replies(5) else "no deploy"
        live = world.live(staging)
        deployment = f"breast-cancer-{predictor_name(first)}-predictor"
        assert deployment in live.predictor_deployments(), live.predictor_deployments()
        [backend] = live.backends()  # status.address.url: the predictor Service KServe made
        [pod] = live.pods_of(backend.service)
        assert pod.deployment == deployment and digest(pods.artifact_of(pod.modelcar)) == digest(first)
        assert pod.node.startswith("kwok-"), pod
        rows = list(csv.DictReader((quickstart / "data" / "holdout.csv").open()))
        features = [[float(v) for k, v in r.items() if k not in EXCLUDE] for r in rows]
        answer = LiveRouter(pods, live).predict(features[0])
        story.step(f"merge of #5: the App applied it to `{staging}`; KServe's controller made Deployment `{deployment}` "
                   f"and Service `{backend.service}` (status.address.url), the scheduler placed pod `{pod.name}` on `{pod.node}`; "
                   f"its modelcar image `{pod.modelcar}` is the artifact's, served by a real `mlpipex serve`: {answer!r}", cluster=True)

        # 4. Into production; a second version through staging.
        world.comment(5, "lead", "/promote production")
        assert world.serving(production) == (first, 100), world.last_reply(5)
        second = release(quickstart, world, 6, "1.2.0", registry.address, monkeypatch, tmp_path,
                         model=train_next_version(quickstart, "1.2.0", c=2.0))  # fmt: skip
        assert second.split("@")[1] != first.split("@")[1]
        world.merge(6)
        assert world.serving(staging) == (second, 100), world.last_reply(6)
        app_server = RunningMonitor(world.client.app)  # the App on a real port, for the monitor's alerts
        servers.append(app_server)
        monkeypatch.setenv("MLPIPEX_ALERT_TOKEN", "alert-token")
        config = quickstart / "mlpipex.yaml"
        data = yaml.safe_load(config.read_text())
        data["monitoring"] = {"repository": REPO, "schedule": "1h", "min_samples": 100,
                              "alerts": {"url": f"{app_server.url}/alerts/drift", "fire_after": 1}}  # fmt: skip
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        from mlpipex.monitor import create_monitor_app, settings_from_configs

        monitor = RunningMonitor(create_monitor_app(settings_from_configs([str(config)], state_dir=tmp_path / "monitor")))
        servers.append(monitor)
        repo = yaml.safe_load(world.github.files[world.github.branches["main"]]["mlpipex.yaml"])
        repo["deploy"]["monitor"] = {"url": monitor.url}
        repo["deploy"]["logger"] = {"url": monitor.url, "mode": "all"}  # KServe's agent in each predictor pod logs here
        # Production's canary: KServe v0.20.0 weights none, so mlpipex's HTTPRoute does (no gateway controller runs
        # here to report on it: accepted_within 0s reads its status once instead of waiting for a report).
        repo["deploy"]["environments"][1]["canary"] = {"steps": [10, 50, 100], "interval": "1s", "min_samples": 20,
                                                       "metrics": [{"name": "latency_p95", "margin": 5.0}]}  # fmt: skip
        repo["deploy"]["environments"][1]["traffic"] = {"gateway": {"name": "edge", "namespace": "gateways"},
                                                        "hostnames": ["breast-cancer.models.example.com"],
                                                        "accepted_within": "0s"}  # fmt: skip
        world.github.commit("main", {"mlpipex.yaml": yaml.safe_dump(repo, sort_keys=False)})
        story.step(f"#5 promoted to `{production}`; #6 `{second}` in staging; the monitor listens at {monitor.url}, "
                   "production's predictors log to it (deploy.logger) and its canaries are judged on it", cluster=True)

        # 4b. The canary: KServe's controller makes its Deployment and Service, mlpipex's HTTPRoute weights it,
        #     the router splits by the live route as a Gateway would, the analysis judges the monitor's samples.
        world.comment(6, "lead", "/promote production")
        assert world.serving(production) == (second, 10), world.last_reply(6)
        live = world.live(production)
        stable_service, canary_service = (f"breast-cancer-{predictor_name(a)}-predictor" for a in (first, second))
        assert canary_service in live.predictor_deployments(), live.predictor_deployments()
        assert [(b.service, b.weight) for b in live.backends()] == [(stable_service, 90), (canary_service, 10)]
        # What KServe v0.20.0's pod webhook told each agent: no pod name (generateName is resolved after admission),
        # no endpoint (Standard mode sets no label for it), and the logger URL mlpipex wrote for that predictor.

        def agents_now() -> dict[str, dict[str, str]]:
            newest = {s: live.pods_of(s)[:1] for s in (stable_service, canary_service)}
            return {s: found[0].logger if found else {} for s, found in newest.items()}

        deadline = time.monotonic() + 60  # the stable's Deployment rolls once: its predictor has a logger now
        agents = agents_now()
        while not all("log-url" in a for a in agents.values()):
            assert time.monotonic() < deadline, agents
            time.sleep(0.5)
            agents = agents_now()
        assert {s: (a["source-uri"], a["endpoint"]) for s, a in agents.items()} == dict.fromkeys(agents, ("", ""))
        assert {s: a["log-url"] for s, a in agents.items()} == {
            stable_service: f"{monitor.url}/?revision={predictor_name(first)}",
            canary_service: f"{monitor.url}/?revision={predictor_name(second)}"}  # fmt: skip
        router = LiveRouter(pods, live)
        weights = [[(b.service, b.weight) for b in live.backends()]]
        deadline = time.monotonic() + 180
        while world.serving(production) != (second, 100):
            assert time.monotonic() < deadline, f"the canary did not reach 100%: {weights}"
            for i in range(80):
                router.predict(features[i % len(features)])
            time.sleep(1.0)  # the next canary.step job is due an interval after the last
            world.work()
            now = [(b.service, b.weight) for b in live.backends()]
            if now != weights[-1]:
                weights.append(now)
            assert world.serving(production)[0] == second, f"the canary was rolled back: {world.last_reply(6)}"
        assert [(canary_service, 50)] == [w for w in weights[1] if w[0] == canary_service], weights
        assert live.backends() == [Backend(canary_service, 100)], live.route()
        obj = live.inference_service()
        assert obj["spec"]["predictor"]["name"] == predictor_name(second) and not obj["spec"].get("canary")
        assert router.sent.get("canary", 0) > 0 and router.sent.get("default", 0) > router.sent["canary"]
        # The monitor told the two apart by the URL alone (every event said ce-source http://localhost:9081/).
        windows = {w.key.revision: w.requests for w in monitor.monitor.ingestor.windows.values()
                   if w.key.namespace == production}  # fmt: skip
        assert set(windows) == {predictor_name(first), predictor_name(second)}, windows
        [pod] = live.pods_of(canary_service)
        # promoted without a restart: the predictor took the canary's name, and its logger URL the canary's marker
        assert pod.logger["log-url"] == f"{monitor.url}/?revision={predictor_name(second)}"
        assert pod.logger["inference-service"] == "breast-cancer"
        assert digest(pods.artifact_of(pod.modelcar)) == digest(second)
        story.step(f"/promote production of #6: a canary. KServe made Deployment `{pod.deployment}` beside the stable's; "
                   f"the analysis on the monitor's samples moved mlpipex's HTTPRoute {' → '.join(str(w) for w in weights)}; "
                   f"requests by the live route's weights {router.sent}, logged by the flags of the `agent` KServe injected "
                   f"(no pod name, no endpoint: `ce-source: http://localhost:9081/`), told apart by the `?revision=` "
                   f"of each predictor's logger URL: the monitor's windows (requests) {windows}", cluster=True)

        # 5. The inputs shift; the monitor's drift check alerts the App, which opens the retraining PR.
        shifted = [[v * 3.0 for v in row] for row in features]
        for i in range(300):
            router.predict(shifted[i % len(shifted)])
        monitor.monitor.scheduler.check()
        retrain: list[tuple[int, dict]] = []
        deadline = time.monotonic() + 30
        while not retrain:
            assert time.monotonic() < deadline, "no retraining pull request"
            time.sleep(0.3)
            world.work()
            retrain = [(n, p) for n, p in world.github.pulls.items() if p["head_ref"] == "mlpipex/retrain/breast-cancer"]
        [(number, pull)] = retrain
        assert "drift" in pull["body"].lower()
        story.step(f"the inputs shifted; the monitor detected drift and alerted the App, which opened retraining PR #{number}", cluster=True)

        # 6. /rollback: refused for a reader, done for a writer; visible in the API server and in the routing.
        world.comment(6, "reader", "/rollback --env production")
        refusal = world.last_reply(6)
        assert "needs `write`" in refusal and world.serving(production) == (second, 100)
        story.step(f"/rollback from `reader` (read permission): refused, production unchanged; the reply: {refusal.splitlines()[0]!r}", cluster=True)
        world.comment(6, "dev", "/rollback --env production")
        assert world.serving(production) == (first, 100), world.last_reply(6)
        obj = live.inference_service()
        assert state_of(obj).history[-1]["action"] == "rollback"
        assert obj["spec"]["predictor"]["name"] == predictor_name(first)
        [backend] = live.backends()
        assert backend.service == f"breast-cancer-{predictor_name(first)}-predictor"
        before = dict(router.by_service)
        for i in range(20):
            router.predict(features[i])
        assert {k: v - before.get(k, 0) for k, v in router.by_service.items() if v != before.get(k, 0)} == {backend.service: 20}
        story.step(f"/rollback from `dev` (write): the API server's object back on `{first}`, traffic on Service "
                   f"`{backend.service}`; the reply: {world.last_reply(6).splitlines()[0]!r}", cluster=True)
    finally:
        for server in servers:
            server.stop()
        pods.stop()
        registry.stop()
