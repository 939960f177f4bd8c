"""Push and pull of a 1 GiB model through mlpipex against raw streaming HTTP, same registry, same run.

Starts Debian's docker-registry on loopback, writes a 1 GiB file, and times in
fresh subprocesses (so each peak RSS is its own):
  raw PUT   one monolithic streaming upload with requests in 1 MiB reads, its digest
            computed before the clock starts (push reads it from the package)
  mlpipex push of the packaged file (compression: none), digest known up front
  raw GET   streaming download to a file, without and with a sha256 check
  mlpipex pull, checking size and sha256 while streaming, then unpacking
Prints throughput, the mlpipex/raw ratios (targets: push >= 0.8, pull >= 0.9) and peak RSS.

On a small shared machine one run of each swings 2-4x (CPU shared with the
registry and with whatever else runs; page-cache write-back): every operation is
repeated in interleaved rounds (raw PUT, push, pull, raw GET, raw GET + sha256;
each round to a fresh repository so every byte is sent again) and the medians
are compared.

    .venv/bin/python benchmarks/oci_throughput.py [--size-mib 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from _common import QUICKSTART, machine, table

CHUNK = 1 << 20


def child(op: str, registry: str, path: str, repo: str) -> None:
    """Runs in a subprocess: one operation, then prints its wall time and its own peak RSS."""
    from mlpipex.cli import main  # imports are start-up cost, not transfer: keep them off the clock

    if op == "raw-put":
        # like push, which knows each blob's digest from the package: hashed before the clock starts
        size = os.path.getsize(path)
        digest = "sha256:" + _sha256(path)
    start = time.perf_counter()
    if op == "raw-put":
        r = requests.post(f"http://{registry}/v2/raw/{repo}/blobs/uploads/", timeout=60)
        location = r.headers["Location"]
        location = location if location.startswith("http") else f"http://{registry}{location}"
        with open(path, "rb") as handle:
            r = requests.put(f"{location}{'&' if '?' in location else '?'}digest={digest}",
                             data=_ChunkedFile(handle, size), headers={"Content-Length": str(size)},
                             timeout=600)  # fmt: skip
        assert r.status_code == 201, r.text
    elif op in ("raw-get", "raw-get-sha256"):
        digest = Path(path).read_text().strip()
        hasher = hashlib.sha256()
        with requests.get(f"http://{registry}/v2/raw/{repo}/blobs/{digest}", stream=True, timeout=600) as r, \
                open(path + ".out", "wb") as out:  # fmt: skip
            for chunk in r.iter_content(CHUNK):
                if op == "raw-get-sha256":
                    hasher.update(chunk)
                out.write(chunk)
        assert op == "raw-get" or "sha256:" + hasher.hexdigest() == digest
    else:
        args = {"push": ["push", "--to", f"{registry}/m/{repo}"],
                "pull": ["pull", f"{registry}/m/{repo}:9.9.9", "-o", path]}[op]  # fmt: skip
        assert main(args) == 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - start, "rss": rss}))


class _ChunkedFile:
    """A file body read 1 MiB at a time, as push's uploads are (a bare file goes out 8 KiB at a time)."""

    def __init__(self, handle: Any, size: int) -> None:
        self._handle, self._size = handle, size

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        data: bytes = self._handle.read(max(amount, CHUNK) if amount > 0 else -1)
        return data


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def run(op: str, registry: str, path: str, cwd: Path, repo: str) -> tuple[float, float]:
    os.sync()  # no backlog of dirty pages from the operation before
    proc = subprocess.run([sys.executable, __file__, "--child", op, registry, path, repo], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})  # fmt: skip
    if proc.returncode:
        sys.exit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["rss"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    binary = shutil.which("docker-registry")
    if not binary:
        sys.exit("needs Debian's docker-registry (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp_text:
        tmp = Path(tmp_text)
        config = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
                  "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}},
                  "http": {"addr": "127.0.0.1:5055"}}  # fmt: skip
        (tmp / "registry.yml").write_text(yaml.safe_dump(config))
        server = subprocess.Popen([binary, "serve", str(tmp / "registry.yml")], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            project = tmp / "project"
            shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".mlpipex"))
            model = project / "models" / "big.bin"
            block = os.urandom(CHUNK)
            with model.open("wb") as handle:
                for _ in range(args.size_mib):
                    handle.write(block)
            data = yaml.safe_load((project / "mlpipex.yaml").read_text())
            data["model"].update(path="models/big.bin", version="9.9.9")
            data["package"] = {"compression": "none"}
            (project / "mlpipex.yaml").write_text(yaml.safe_dump(data))
            subprocess.run([sys.executable, "-m", "mlpipex", "package", "--allow-ungated", "--report", "none"],
                           cwd=project, check=True, capture_output=True)  # fmt: skip
            layer_manifest = json.loads(subprocess.run(
                [sys.executable, "-m", "mlpipex", "inspect", "breast-cancer:9.9.9", "--json"],
                cwd=project, check=True, capture_output=True, text=True).stdout)["manifest"]["layers"][0]  # fmt: skip
            layer_path = project / ".mlpipex/oci/blobs/sha256" / layer_manifest["digest"][7:]
            size = layer_path.stat().st_size
            digest_file = tmp / "digest.txt"
            digest_file.write_text(layer_manifest["digest"])
            times: dict[str, list[tuple[float, float]]] = {op: [] for op in OPS}
            for round_ in range(args.rounds):
                repo = f"bench{round_}"
                for op in ("raw-put", "push", "pull", "raw-get", "raw-get-sha256"):
                    target = {"raw-put": str(layer_path), "push": "", "pull": str(tmp / "pulled")}.get(op, str(digest_file))
                    times[op].append(run(op, "127.0.0.1:5055", target, project, repo))
                    shutil.rmtree(tmp / "pulled", ignore_errors=True)
                    Path(str(digest_file) + ".out").unlink(missing_ok=True)
        finally:
            server.terminate()
    mib = size / (1 << 20)
    med = {op: statistics.median(t for t, _ in runs) for op, runs in times.items()}
    rows = [[OPS[op], f"{med[op]:.2f}", " ".join(f"{t:.2f}" for t, _ in runs), f"{mib / med[op]:.0f}",
             f"{max(r for _, r in runs):.0f}"] for op, runs in times.items()]  # fmt: skip
    print(f"OCI throughput, {mib:.0f} MiB layer, loopback docker-registry 2.8, {args.rounds} rounds ({machine()})")
    print(table(["operation", "median s", "each round s", "MiB/s (median)", "peak RSS MB"], rows))
    print(f"throughput ratios of medians (targets: push >= 0.8, pull >= 0.9): push/raw PUT {med['raw-put'] / med['push']:.2f}, "
          f"pull/raw GET with sha256 {med['raw-get-sha256'] / med['pull']:.2f}, "
          f"pull/raw GET unchecked {med['raw-get'] / med['pull']:.2f}")  # fmt: skip


OPS = {"raw-put": "raw PUT (requests, streaming)", "push": "mlpipex push", "raw-get": "raw GET (requests, streaming)",
       "raw-get-sha256": "raw GET + sha256 check", "pull": "mlpipex pull (verify + unpack)"}


if __name__ == "__main__":
    main()
