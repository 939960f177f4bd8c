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

0. In process, first (unless ``--in-process 0``): the same pairs sent to both ASGI applications
   called directly (no HTTP server), CPU µs per event of each and the ratio — the steadiest
   figure on a shared machine; the HTTP server's own cost, which both sides pay, is left out.

    .venv/bin/python benchmarks/monitor_ingest.py [--seconds 10] [--rounds 2] [--events 10000000] [--in-process 10000]
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

from _asgi_driver import cpu_per_request
from fastapi import FastAPI, Request, Response

from _common import machine, table

FEATURES = 30
POD = "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p"


def bare_app() -> FastAPI:
    """The baseline: a FastAPI POST handler that reads the body and answers 200."""
    app = FastAPI()

    @app.post("/")
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return app


BARE_APP = f"""
import sys, uvicorn
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from monitor_ingest import bare_app
uvicorn.run(bare_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
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


def in_process(pairs: int) -> None:
    """CPU µs per event with the ASGI apps called directly (8 pairs in flight): the monitor against the bare route."""
    from mlpipex.monitor import MonitorSettings, create_monitor_app

    def pair(i: int) -> list[tuple[str, dict[str, str], bytes]]:
        now = time.time()
        return [("/", event_headers(f"p{i}", "request", now), REQUEST),
                ("/", event_headers(f"p{i}", "response", now + 0.004), RESPONSE)]  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        app = create_monitor_app(MonitorSettings(state_dir=Path(tmp) / "state", schedule_seconds=3600))
        try:
            runs = {"mlpipex monitor (ingest)": cpu_per_request(app, pair, pairs, in_flight=8),
                    "bare FastAPI endpoint": cpu_per_request(bare_app(), pair, pairs, in_flight=8)}  # fmt: skip
        finally:
            app.state.monitor.close()
    print(f"in-process: ASGI apps called directly, {2 * pairs} events x 3 runs, 8 pairs in flight (no HTTP server)")
    print(table(["endpoint", "CPU µs/event (each run)", "statuses"],
                [[name, ", ".join(f"{v:.1f}" for v in values), ", ".join(map(str, sorted(seen)))]
                 for name, (values, seen) in runs.items()]))  # fmt: skip
    monitor_us, bare_us = (min(values) for values, _ in runs.values())
    print(f"in-process ratio (events per CPU-second, monitor / bare): {bare_us / monitor_us:.2f}; the monitor alone "
          f"{1e6 / monitor_us:,.0f} events per CPU-second")  # fmt: skip


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
    parser.add_argument("--in-process", type=int, default=10_000, metavar="PAIRS",
                        help="request/response pairs per in-process run (0: skip)")  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f} at the start")
    if args.in_process:
        in_process(args.in_process)
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
