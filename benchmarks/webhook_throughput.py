"""Signed webhook deliveries at fixed rates against `mlpipex app serve`, next to a bare FastAPI endpoint.

Both servers run under uvicorn on loopback, one process each, access log off. The
App gets the whole intake path — size limit, HMAC-SHA256 check, headers, JSON,
routing, and one SQLite transaction recording the delivery and queueing its job —
with the worker off (`--workers 0`) so only intake is timed. The baseline is a
FastAPI route that reads the body and answers 202. The load is open-loop: request
i is due at t0 + i/rate and its latency counts from then, so a server that falls
behind shows it in p99 instead of slowing the sender down. A rate is "sustained"
when all requests succeed, the achieved rate is within 5% of the target and p99
stays under 250 ms (GitHub's own limit is 10 s).

    .venv/bin/python benchmarks/webhook_throughput.py [--seconds 2] [--rates 100,200,400,800,1200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from _common import ROOT, machine, table
from mlpipex.app.auth import sign

SECRET = "benchmark-secret"
EXAMPLES = ROOT / ".tools" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"

BARE = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/webhooks/github")
async def hook(request: Request):
    await request.body()
    return JSONResponse({"status": "queued"}, status_code=202)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def payload() -> tuple[str, bytes]:
    """An installation_repositories.added delivery (a kind the App queues without the lead's handlers)."""
    if EXAMPLES.exists():
        for entry in json.loads(EXAMPLES.read_text()):
            if entry["name"] == "installation_repositories":
                return "installation_repositories", json.dumps(entry["examples"][0]).encode()
    body = {"action": "added", "installation": {"id": 1, "account": {"login": "octo-org"}}, "repository_selection": "selected",
            "repositories_added": [{"id": 1, "full_name": "octo-org/models"}], "repositories_removed": [],
            "sender": {"login": "octocat"}, "padding": "x" * 6000}  # fmt: skip
    return "installation_repositories", json.dumps(body).encode()


def wait_ready(port: int, path: str, method: str = "GET") -> None:
    import http.client

    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request(method, path, body=b"{}" if method == "POST" else None)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


async def fire(port: int, rate: float, seconds: float, event: str, body: bytes, connections: int = 64) -> tuple[np.ndarray, int, float]:
    """Open-loop load: returns latencies (ms, from each request's due time), errors, achieved rate."""
    total = int(rate * seconds)
    signature = sign(SECRET, body)
    due: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            item = await due.get()
            if item[0] < 0:
                break
            _, at = item
            head = (f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
                    f"X-Hub-Signature-256: {signature}\r\n\r\n").encode()  # fmt: skip
            writer.write(head + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - at) * 1000)
            if status >= 300:
                errors += 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = time.perf_counter()
    for i in range(total):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((i, at))
    for _ in workers:
        due.put_nowait((-1, 0.0))
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return np.array(latencies), errors, total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rates", default="100,200,400,800,1200")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    event, body = payload()
    with tempfile.TemporaryDirectory() as tmp:
        app_port, bare_port = free_port(), free_port()
        env = {**os.environ, "MLPIPEX_WEBHOOK_SECRET": SECRET, "MLPIPEX_DATABASE_URL": f"sqlite:///{Path(tmp) / 'app.db'}",
               "PYTHONWARNINGS": "ignore"}  # fmt: skip
        servers = [
            subprocess.Popen([sys.executable, "-m", "mlpipex", "app", "serve", "--port", str(app_port), "--workers", "0",
                              "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-c", BARE, str(bare_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]  # fmt: skip
        try:
            wait_ready(app_port, "/healthz")
            wait_ready(bare_port, "/webhooks/github", "POST")
            results: dict[str, list[tuple[float, np.ndarray, int, float]]] = {"app": [], "bare": []}
            for port in (app_port, bare_port):  # warm-up
                asyncio.run(fire(port, 100, 0.5, event, body))
            for rate in rates:
                for name, port in (("app", app_port), ("bare", bare_port)):
                    lat, errors, achieved = asyncio.run(fire(port, rate, args.seconds, event, body))
                    results[name].append((rate, lat, errors, achieved))
        finally:
            for server in servers:
                server.terminate()
                server.wait()

    def sustained(rows: list[tuple[float, np.ndarray, int, float]]) -> float:
        ok = [r for r, lat, err, got in rows if err == 0 and got >= 0.95 * r and np.percentile(lat, 99) < 250]
        return max(ok) if ok else 0.0

    print(f"# webhook intake at fixed rates ({machine()}), {args.seconds:g} s per rate, {len(body)} byte body\n")
    lines = []
    for i, rate in enumerate(rates):
        (_, a, ae, ag), (_, b, be, bg) = results["app"][i], results["bare"][i]
        lines.append([f"{rate:g}", f"{np.percentile(a, 50):.2f}", f"{np.percentile(a, 99):.2f}", f"{ag:.0f}", str(ae),
                      f"{np.percentile(b, 50):.2f}", f"{np.percentile(b, 99):.2f}", f"{bg:.0f}", str(be),
                      f"{np.percentile(a, 50) / np.percentile(b, 50):.2f}"])  # fmt: skip
    print(table(["rate/s", "app p50 ms", "app p99 ms", "app achieved/s", "app errors", "bare p50 ms", "bare p99 ms",
                 "bare achieved/s", "bare errors", "p50 ratio"], lines))  # fmt: skip
    app_max, bare_max = sustained(results["app"]), sustained(results["bare"])
    print(f"\nhighest sustained rate: app {app_max:g}/s, bare FastAPI {bare_max:g}/s, ratio {app_max / bare_max if bare_max else float('nan'):.2f}")


if __name__ == "__main__":
    main()
