"""CloudEvents shaped exactly as KServe's payload logger sends them (pkg/logger/worker.go).

The Go CloudEvents SDK in binary mode: every attribute and extension as a
``ce-`` header, ``ce-time`` in RFC 3339 with nanoseconds, ``ce-source`` the pod
name, ``ce-metadata`` the JSON of the logged request headers, the model's JSON as
the body with the request's Content-Type.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from _fake_server import FakeServer, free_port

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def rfc3339_nano(seconds: float) -> str:
    stamp = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    nanos = round((seconds % 1) * 1e9) % 1_000_000_000
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def headers(event_id: str, kind: str, *, when: float, service: str = "fraud", namespace: str = "ml",
            pod: str = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p", endpoint: str = "default",
            component: str = "predictor") -> dict[str, str]:  # fmt: skip
    return {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-type": REQUEST if kind == "request" else RESPONSE,
        "ce-source": pod,
        "ce-time": rfc3339_nano(when),
        "ce-recordedtime": rfc3339_nano(time.time()),
        "ce-inferenceservicename": service,
        "ce-namespace": namespace,
        "ce-component": component,
        "ce-endpoint": endpoint,
        "ce-metadata": "{}",
    }


def v1_request(rows: list[list[float]]) -> bytes:
    return json.dumps({"instances": rows}).encode()


def v1_response(probabilities: list[list[float]]) -> bytes:
    return json.dumps({"predictions": probabilities}).encode()


def v2_request(rows: list[list[float]], name: str = "features") -> bytes:
    flat = [v for row in rows for v in row]
    return json.dumps({"id": str(uuid.uuid4()), "inputs": [
        {"name": name, "shape": [len(rows), len(rows[0])], "datatype": "FP32", "data": flat}]}).encode()


def v2_response(labels: list[int], probabilities: list[list[float]]) -> bytes:
    return json.dumps({"model_name": "fraud", "model_version": None, "id": str(uuid.uuid4()), "parameters": None,
                       "outputs": [
                           {"name": "label", "shape": [len(labels)], "datatype": "INT64", "parameters": None,
                            "data": labels},
                           {"name": "probabilities", "shape": [len(labels), len(probabilities[0])],
                            "datatype": "FP32", "parameters": None, "data": [p for row in probabilities for p in row]},
                       ]}).encode()  # fmt: skip


class Receiver:
    """A webhook receiver on loopback that records what it got; ``status`` is what it answers."""

    def __init__(self, port: int | None = None, status: int = 202) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        self.port = port or free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.status < 300:
                    receiver.received.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = FakeServer(Handler, self.port).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts/drift"

    def close(self) -> None:
        self.http.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
