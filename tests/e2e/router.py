"""Stand-ins for what the cluster does around the model servers, with real `mlpipex serve` pods.

``Pods`` starts one `mlpipex serve REF@DIGEST` process per revision (pulled from the
real registry). ``Router`` sends each request to the canary or the stable pod by
the InferenceService's traffic percentages (as KServe's ingress does) and, like
KServe's payload logger, posts the request and the response as CloudEvents in
binary mode to the monitor.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from .pods import Pods

REQUEST, RESPONSE = "org.kubeflow.serving.inference.request", "org.kubeflow.serving.inference.response"


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e9):09d}Z"


class Router:
    def __init__(self, pods: Pods, service: Callable[[], dict[str, Any]], monitor_url: str, namespace: str,
                 seed: int = 0) -> None:  # fmt: skip
        self.pods, self.service, self.monitor, self.namespace = pods, service, monitor_url, namespace
        self.rng = random.Random(seed)
        self.sent: dict[str, int] = {}

    def _split(self) -> list[tuple[str, str, int]]:
        """(artifact, endpoint, percent) from the object's spec, as KServe's ingress would route."""
        spec = self.service()["spec"]
        stable = spec["predictor"]["model"]["storageUri"].split("://", 1)[1]
        if spec.get("canary"):
            canary = spec["canary"][0]
            uri = canary["predictor"]["model"]["storageUri"].split("://", 1)[1]
            return [(uri, "canary", canary["trafficPercent"]), (stable, "default", 100 - canary["trafficPercent"])]
        return [(stable, "default", 100)]

    def predict(self, row: list[float]) -> Any:
        split = self._split()
        pick = self.rng.uniform(0, 100)
        artifact, endpoint, _ = next((s for s, acc in zip(split, _cumulative(split)) if pick < acc), split[-1])
        base, revision = self.pods.url_for(artifact)
        body = json.dumps({"instances": [row]}).encode()
        started = time.time()
        with urllib.request.urlopen(urllib.request.Request(f"{base}/v1/models/breast-cancer:predict", data=body,
                                                           headers={"Content-Type": "application/json"}), timeout=10) as r:  # fmt: skip
            answer = r.read()
        ended = time.time()
        event = str(uuid.uuid4())
        pod = f"breast-cancer-predictor-{revision:05d}-deployment-5d8f7c9b4-x7k2p"
        for kind, payload, when in ((REQUEST, body, started), (RESPONSE, answer, ended)):
            headers = {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": event, "ce-type": kind,
                       "ce-source": pod, "ce-time": _rfc3339(when), "ce-inferenceservicename": "breast-cancer",
                       "ce-namespace": self.namespace, "ce-component": "predictor", "ce-endpoint": endpoint}  # fmt: skip
            urllib.request.urlopen(urllib.request.Request(self.monitor, data=payload, headers=headers), timeout=10).read()
        self.sent[endpoint] = self.sent.get(endpoint, 0) + 1
        return json.loads(answer)["predictions"][0]


def _cumulative(split: list[tuple[str, str, int]]) -> list[int]:
    total, out = 0, []
    for _, _, percent in split:
        total += percent
        out.append(total)
    return out
