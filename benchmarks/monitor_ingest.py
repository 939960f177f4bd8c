"""How many KServe payload-log CloudEvents the monitor takes per second, and its memory after millions.

1. HTTP on loopback: `mlpipex monitor serve` against a bare endpoint (the same
   FastAPI + uvicorn, a POST handler that reads the body and answers 200, nothing
   else), in alternating rounds, the same load generator (threads with keep-alive
   connections posting request/response pairs shaped as KServe's logger sends them,
   30 features in v2). Each server is pinned to one CPU and the load generator to the
   others (Linux sched_setaffinity), and each server's own CPU seconds are read from
   /proc during each round, so "per core" means per core: prints events/s of each,
   events per server CPU-second, and the ratios.
2. Bounded memory: ``--events`` events (default 10 million) fed through
   ``Ingestor.ingest`` (the function the HTTP route calls) in this process —
   10 million over HTTP would take hours on 2 CPUs — with resident memory read
   from /proc at each tenth. Every request has a response except every tenth, so
   the pending join map fills to its bound too.

    .venv/bin/python benchmarks/monitor_ingest.py [--seconds 10] [--rounds 2] [--events 10000000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import machine, table

FEATURES = 30
POD = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p"
BARE_APP = """
from fastapi import FastAPI, Request, Response
import uvicorn, sys
app = FastAPI()
@app.post("/")
async def receive(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e9):09d}Z"


def event_headers(event_id: str, kind: str, when: float) -> dict[str, str]:
    return {"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": event_id,
            "ce-type": f"org.kubeflow.serving.inference.{kind}", "ce-source": POD, "ce-time": rfc3339(when),
            "ce-inferenceservicename": "fraud", "ce-namespace": "ml", "ce-component": "predictor",
            "ce-endpoint": "default", "ce-metadata": "{}"}  # fmt: skip


REQUEST = json.dumps({"inputs": [{"name": "features", "shape": [1, FEATURES], "datatype": "FP32",
                                  "data": [round(0.1 * i, 3) for i in range(FEATURES)]}]}).encode()  # fmt: skip
RESPONSE = json.dumps({"model_name": "fraud", "id": "x", "outputs": [
    {"name": "label", "shape": [1], "datatype": "INT64", "data": [1]},
    {"name": "probabilities", "shape": [1, 2], "datatype": "FP32", "data": [0.12, 0.88]}]}).encode()  # fmt: skip


def wait_up(port: int) -> None:
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(server: int) -> None:
    """The server on the last CPU, this process (the load generator) on the others."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(server, {cpus[-1]})
        os.sched_setaffinity(0, set(cpus[:-1]))


def measured(pid: int, port: int, seconds: float) -> tuple[float, float]:
    """(events/s, events per server CPU-second) for one round against the server ``pid``."""
    before, started = server_cpu_seconds(pid), time.monotonic()
    rate = load(port, seconds)
    events = rate * (time.monotonic() - started)
    return rate, events / max(server_cpu_seconds(pid) - before, 1e-9)


def load(port: int, seconds: float, threads: int = 4) -> float:
    """Events per second posted by ``threads`` keep-alive clients for ``seconds``."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        n = 0
        while time.monotonic() < stop:
            event_id = f"t{index}-{n}"
            now = time.time()
            for kind, body, when in (("request", REQUEST, now), ("response", RESPONSE, now + 0.004)):
                connection.request("POST", "/", body=body, headers=event_headers(event_id, kind, when))
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                counts[index] += 1
            n += 1
        connection.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)


def http_rounds(seconds: float, rounds: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    monitor_rates, bare_rates = [], []
    all_cpus = os.sched_getaffinity(0)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        m_port, b_port = free_port(), free_port()
        monitor = subprocess.Popen([sys.executable, "-m", "mlpipex", "monitor", "serve", "--port", str(m_port),
                                    "--state", str(Path(tmp) / "state"), "--schedule", "1h"], cwd=tmp, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(b_port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_up(m_port)
            wait_up(b_port)
            pin(monitor.pid)
            pin(bare.pid)
            load(m_port, 1.0)  # warm both up
            load(b_port, 1.0)
            for _ in range(rounds):
                monitor_rates.append(measured(monitor.pid, m_port, seconds))
                bare_rates.append(measured(bare.pid, b_port, seconds))
        finally:
            os.sched_setaffinity(0, all_cpus)
            for process in (monitor, bare):
                process.terminate()
                process.wait(timeout=30)
    return monitor_rates, bare_rates


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(events: int) -> tuple[list[list[str]], float]:
    from mlpipex.monitor import Ingestor, Limits

    ingestor = Ingestor(Limits())  # the defaults `mlpipex monitor serve` uses
    rows, step = [], max(1, events // 10)
    base = 1_800_000_000.0
    started = time.perf_counter()
    request_headers = event_headers("x", "request", base)
    response_headers = event_headers("x", "response", base)
    pairs = events // 2
    for n in range(pairs):
        event_id = f"id-{n}"
        when = base + n * 0.001
        request_headers["ce-id"] = response_headers["ce-id"] = event_id
        request_headers["ce-time"] = rfc3339(when)
        ingestor.ingest(request_headers, REQUEST, now=when)
        if n % 10 != 9:
            response_headers["ce-time"] = rfc3339(when + 0.004)
            ingestor.ingest(response_headers, RESPONSE, now=when)
        if (2 * (n + 1)) % step < 2:
            rows.append([f"{2 * (n + 1):,}", f"{rss_mb():.0f}", str(len(ingestor.pending)),
                         str(len(ingestor.predictions)), f"{time.perf_counter() - started:.0f}"])  # fmt: skip
    rate = 2 * pairs / (time.perf_counter() - started)
    return rows, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="per HTTP round and side")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=10_000_000, help="fed through Ingestor.ingest for memory")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if not args.skip_http:
        monitor_rates, bare_rates = http_rounds(args.seconds, args.rounds)
        m, b = max(r for r, _ in monitor_rates), max(r for r, _ in bare_rates)
        mc, bc = max(c for _, c in monitor_rates), max(c for _, c in bare_rates)
        print(table(["endpoint (server pinned to 1 CPU)", "events/s (best)", "events per server CPU-s (best)",
                     "each round: events/s, per CPU-s"], [
            ["mlpipex monitor (ingest)", f"{m:,.0f}", f"{mc:,.0f}", "; ".join(f"{r:,.0f}, {c:,.0f}" for r, c in monitor_rates)],
            ["bare FastAPI endpoint", f"{b:,.0f}", f"{bc:,.0f}", "; ".join(f"{r:,.0f}, {c:,.0f}" for r, c in bare_rates)],
        ]))  # fmt: skip
        print(f"ratio monitor / bare: {m / b:.2f} in events/s, {mc / bc:.2f} per server CPU-second "
              "(targets: >= 10k events per server core-second, >= 0.9x bare)")
    rows, rate = memory_run(args.events)
    print(table(["events", "RSS MB", "pending joins", "predictions kept", "seconds"], rows))
    print(f"Ingestor.ingest alone: {rate:,.0f} events/s ({1e6 / rate:.1f} µs/event)")


if __name__ == "__main__":
    main()
