"""Stand-ins for what the cluster does around the model servers, with real `mlpipex serve` pods.

``LiveRouter`` (the real control plane) sends each request where the cluster routes it,
read from the live objects (tests/e2e/live.py): mlpipex's HTTPRoute's backends by
weight, as a Gateway would, else the Service ``status.address.url`` names; then to a
Running pod of that Service, whose `mlpipex serve` stand-in answers. Like the ``agent``
container KServe injected into that pod, it posts the request and the response as
CloudEvents in binary mode to the agent's ``--log-url``, with the agent's
``--inference-service``, ``--namespace``, ``--component`` and ``--endpoint``, and the
source the agent uses: ``--source-uri``, which KServe v0.20.0's pod webhook fills in
before a ReplicaSet's pod has its name, so it is empty and the agent falls back to
``http://localhost:<agent port>/``; ``--endpoint`` is the pod's
``serving.kserve.io/endpoint`` label, which Standard mode never sets. So every pod's
events look alike but for the URL they go to: mlpipex writes each predictor its own
``logger.url`` with ``?revision=<predictor name>``, and that marker is what tells the
monitor the canary's samples from the stable's.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
import uuid
from collections.abc import Sequence
from typing import Any

from .live import Backend, LiveCluster
from .pods import Pods

REQUEST, RESPONSE = "org.kubeflow.serving.inference.request", "org.kubeflow.serving.inference.response"


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e9):09d}Z"


def _pick(rng: random.Random, weights: Sequence[int]) -> int:
    """The index a weighted split sends one request to."""
    pick, total = rng.uniform(0, sum(weights)), 0
    for index, weight in enumerate(weights):
        total += weight
        if pick < total:
            return index
    return len(weights) - 1


def _predict(base: str, row: list[float]) -> tuple[bytes, bytes, float, float]:
    body = json.dumps({"instances": [row]}).encode()
    started = time.time()
    request = urllib.request.Request(f"{base}/v1/models/breast-cancer:predict", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = response.read()
    return body, answer, started, time.time()


def log_payloads(url: str, *, source: str, service: str, namespace: str, component: str, endpoint: str,
                 request: bytes, response: bytes, started: float, ended: float) -> None:  # fmt: skip
    """The request and the response as KServe's payload logger posts them: binary-mode CloudEvents, one id."""
    event = str(uuid.uuid4())
    for kind, payload, when in ((REQUEST, request, started), (RESPONSE, response, ended)):
        headers = {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": event, "ce-type": kind,
                   "ce-source": source, "ce-time": _rfc3339(when), "ce-inferenceservicename": service,
                   "ce-namespace": namespace, "ce-component": component, "ce-endpoint": endpoint}  # fmt: skip
        urllib.request.urlopen(urllib.request.Request(url, data=payload, headers=headers), timeout=10).read()


class LiveRouter:
    """Requests to where the real cluster routes them, logged as each pod's KServe agent is told to."""

    def __init__(self, pods: Pods, cluster: LiveCluster, seed: int = 0) -> None:
        self.pods, self.cluster = pods, cluster
        self.rng = random.Random(seed)
        self.sent: dict[str, int] = {}  # "default" (the stable's Service) or "canary" -> requests
        self.by_service: dict[str, int] = {}  # Service -> requests
        self._routes: tuple[float, list[Backend], str] | None = None

    def _snapshot(self) -> tuple[list[Backend], str]:
        """The backends and the stable Service, re-read every half second (not on every request)."""
        if self._routes is None or time.monotonic() - self._routes[0] > 0.5:
            obj = self.cluster.inference_service() or {}
            url = (obj.get("status") or {}).get("address", {}).get("url", "")
            stable = url.split("://", 1)[-1].split(".", 1)[0]
            self._routes = (time.monotonic(), self.cluster.backends(), stable)
        return self._routes[1], self._routes[2]

    def predict(self, row: list[float]) -> Any:
        backends, stable = self._snapshot()
        assert backends, f"the cluster routes {self.cluster.service} nowhere (no status.address.url, no HTTPRoute)"
        backend = backends[_pick(self.rng, [b.weight for b in backends])]
        pods = self.cluster.pods_of(backend.service)
        assert pods, f"Service {backend.service} has no Running predictor pod"
        pod = pods[0]
        request, response, started, ended = _predict(self.pods.url_for_modelcar(pod.modelcar), row)
        flags = pod.logger
        if flags.get("log-url"):
            # The agent's own fallback for an empty --source-uri (cmd/agent/main.go), and its --endpoint as given.
            source = flags.get("source-uri") or f"http://localhost:{flags.get('port', '9081')}/"
            log_payloads(flags["log-url"], source=source, service=flags.get("inference-service", self.cluster.service),
                         namespace=flags.get("namespace", self.cluster.namespace),
                         component=flags.get("component", "predictor"), endpoint=flags.get("endpoint", ""),
                         request=request, response=response, started=started, ended=ended)  # fmt: skip
        role = "default" if backend.service == stable else "canary"  # the router's own count, never logged
        self.sent[role] = self.sent.get(role, 0) + 1
        self.by_service[backend.service] = self.by_service.get(backend.service, 0) + 1
        return json.loads(response)["predictions"][0]
