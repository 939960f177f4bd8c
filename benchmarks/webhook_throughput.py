"""Signed webhook deliveries at fixed rates against `mlpipex app serve`, next to a bare FastAPI endpoint.

Both servers run under uvicorn on loopback, one process each, access log off. The
App gets the whole intake path — size limit, HMAC-SHA256 check, headers, JSON,
routing, the schema check, and the durable SQLite write recording the delivery and
queueing its job — with the worker off (`--workers 0`) so only intake is timed. The
baseline is a FastAPI route that reads the body and answers 202. The load is
open-loop: request i is due at t0 + i/rate and its latency counts from then, so a
server that falls behind shows it in p99 instead of slowing the sender down.

A rate is *sustained* when every request succeeds, the achieved rate is within 5%
of the target and p99 stays under `--p99-ms` (default 25 ms: a server that keeps up
answers in a few ms, one that falls behind builds a queue that grows by the second).
Each server climbs the grid until it falls behind (errors, < 95% of the rate, or a
p50 over the bound) at two rates in a row; its *saturation point* is the highest
sustained rate. The grid goes well past the bare
endpoint's. "CPU µs/req" is the server process's CPU time (all threads, /proc) per
request at that rate: what one delivery costs, whatever else the machine runs.
"client CPU" is the load generator's own CPU share: near 100% it, not the server,
is the limit.

First, unless ``--in-process 0``: the same delivery sent to both ASGI applications called
directly (no HTTP server, 64 in flight), the process's CPU µs per delivery of each and their
ratio — the steadiest figure on a shared machine; the HTTP server's own cost, which both
sides pay, is left out of it.

    .venv/bin/python benchmarks/webhook_throughput.py [--seconds 2] [--rates 200,500,...,20000] [--p99-ms 25]
        [--in-process 6400] [--skip-http]
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
from _asgi_driver import cpu_per_request
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from _common import ROOT, machine, table
from mlpipex.app.auth import sign

SECRET = "benchmark-secret"
EXAMPLES = ROOT / ".tools" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"



def bare_app() -> FastAPI:
    """The baseline: a FastAPI route that reads the body and answers 202."""
    app = FastAPI()

    @app.post("/webhooks/github")
    async def hook(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "queued"}, status_code=202)

    return app


BARE = f"""
import sys, uvicorn
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from webhook_throughput import bare_app
uvicorn.run(bare_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
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


async def fire(port: int, rate: float, seconds: float, event: str, body: bytes, connections: int = 64) -> tuple[np.ndarray, int, float, float]:
    """Open-loop load: latencies (ms, from each request's due time), errors, achieved rate, client CPU share."""
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
    start, cpu = time.perf_counter(), time.process_time()
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
    return np.array(latencies), errors, total / elapsed, (time.process_time() - cpu) / elapsed


Row = tuple[float, np.ndarray, int, float, float, float]  # rate, latencies, errors, achieved, client CPU, server CPU µs/req


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_process(deliveries: int) -> None:
    """CPU µs per delivery with the ASGI apps called directly (64 in flight), the App against the bare route."""
    from mlpipex.app import create_app
    from mlpipex.app.settings import Settings

    event, body = payload()
    signature = sign(SECRET, body)

    def delivery(_: int) -> list[tuple[str, dict[str, str], bytes]]:
        return [("/webhooks/github", {"content-type": "application/json", "x-github-event": event,
                                      "x-github-delivery": str(uuid.uuid4()), "x-hub-signature-256": signature}, body)]  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(webhook_secret=SECRET, database_url=f"sqlite:///{Path(tmp) / 'app.db'}", worker_threads=0))
        try:
            runs = {"app": cpu_per_request(app, delivery, deliveries), "bare": cpu_per_request(bare_app(), delivery, deliveries)}
        finally:
            app.state.mlpipex.store.close()
    print(f"# in-process: ASGI apps called directly, {deliveries} deliveries x 3 runs, 64 in flight (no HTTP server)\n")
    print(table(["endpoint", "CPU µs/delivery (each run)", "statuses"],
                [[name, ", ".join(f"{v:.0f}" for v in values), ", ".join(map(str, sorted(seen)))]
                 for name, (values, seen) in runs.items()]))  # fmt: skip
    app_us, bare_us = min(runs["app"][0]), min(runs["bare"][0])
    print(f"\nin-process ratio (deliveries per CPU-second, app / bare): {bare_us / app_us:.2f} (best runs: app {app_us:.0f} µs, "
          f"bare {bare_us:.0f} µs)\n")  # fmt: skip


def sustained(row: Row, p99_ms: float) -> bool:
    rate, latencies, errors, achieved, _, _ = row
    return errors == 0 and achieved >= 0.95 * rate and float(np.percentile(latencies, 99)) < p99_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rates", default="200,500,1000,1500,2000,3000,4000,5000,6000,8000,10000,13000,16000,20000")
    parser.add_argument("--p99-ms", type=float, default=25.0, help="the p99 a sustained rate stays under")
    parser.add_argument("--in-process", type=int, default=6400, metavar="N", help="deliveries per in-process run (0: skip)")
    parser.add_argument("--skip-http", action="store_true", help="only the in-process comparison")
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f} at the start\n")
    if args.in_process:
        in_process(args.in_process)
    if args.skip_http:
        return
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
            ports = {"app": app_port, "bare": bare_port}
            pids = {"app": servers[0].pid, "bare": servers[1].pid}
            results: dict[str, dict[float, Row]] = {"app": {}, "bare": {}}
            misses = {"app": 0, "bare": 0}
            for port in ports.values():  # warm-up
                asyncio.run(fire(port, 100, 0.5, event, body))
            for rate in rates:  # interleaved: both servers at each rate before the next rate
                for name, port in ports.items():
                    if misses[name] >= 2:
                        continue  # fell behind twice in a row: higher rates say nothing new
                    before = cpu_seconds(pids[name])
                    lat, errors, achieved, client = asyncio.run(fire(port, rate, args.seconds, event, body))
                    server_us = (cpu_seconds(pids[name]) - before) / max(1, len(lat)) * 1e6
                    row = (rate, lat, errors, achieved, client, server_us)
                    results[name][rate] = row
                    # Climb on while it keeps up: a p99 spike from other work on the machine is not saturation.
                    keeps_up = errors == 0 and achieved >= 0.95 * rate and float(np.percentile(lat, 50)) < args.p99_ms
                    misses[name] = 0 if keeps_up else misses[name] + 1
        finally:
            for server in servers:
                server.terminate()
                server.wait()

    def cells(row: Row | None) -> list[str]:
        if row is None:
            return ["—"] * 6
        _, lat, errors, achieved, client, server_us = row
        mark = "" if sustained(row, args.p99_ms) else " ✗"
        return [f"{np.percentile(lat, 50):.2f}", f"{np.percentile(lat, 99):.1f}{mark}", f"{achieved:.0f}", str(errors),
                f"{server_us:.0f}", f"{client:.0%}"]  # fmt: skip

    print(f"# webhook intake at fixed rates ({machine()}), {args.seconds:g} s per rate, {len(body)} byte body, "
          f"sustained = no errors, ≥95% of the rate, p99 < {args.p99_ms:g} ms (✗: not sustained)\n")  # fmt: skip
    lines = [[f"{rate:g}", *cells(results["app"].get(rate)), *cells(results["bare"].get(rate))] for rate in rates
             if rate in results["app"] or rate in results["bare"]]  # fmt: skip
    print(table(["rate/s", "app p50 ms", "app p99 ms", "app achieved/s", "app errors", "app CPU µs/req", "client CPU",
                 "bare p50 ms", "bare p99 ms", "bare achieved/s", "bare errors", "bare CPU µs/req", "client CPU"],
                lines))  # fmt: skip
    saturation = {name: max((r for r, row in rows.items() if sustained(row, args.p99_ms)), default=0.0)
                  for name, rows in results.items()}  # fmt: skip
    peak = {name: max((row[3] for row in rows.values()), default=0.0) for name, rows in results.items()}
    ratio = saturation["app"] / saturation["bare"] if saturation["bare"] else float("nan")
    print(f"\nsaturation point (highest sustained rate): app {saturation['app']:g}/s, bare FastAPI "
          f"{saturation['bare']:g}/s, ratio {ratio:.2f}")  # fmt: skip
    print(f"highest achieved rate at any target: app {peak['app']:.0f}/s, bare {peak['bare']:.0f}/s, "
          f"ratio {peak['app'] / peak['bare'] if peak['bare'] else float('nan'):.2f}")  # fmt: skip
    for name in ("app", "bare"):
        row = results[name].get(200.0)
        if row is not None:
            print(f"at 200/s: {name} p50 {np.percentile(row[1], 50):.2f} ms, p99 {np.percentile(row[1], 99):.2f} ms")


if __name__ == "__main__":
    main()
