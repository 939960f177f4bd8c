"""Nothing acknowledged is lost (issue 12, item 7): the event journal, checkpoints, and a SIGKILL drill."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _kserve_events import (
    free_port,
    headers,
    v1_request,
    v1_response,
    v2_request,
    v2_response,
    wait_until,
)

from mlpipex.monitor import Limits, ModelInfo, MonitorSettings
from mlpipex.monitor._journal import FileJournal, decode_record, encode_event

TOKEN = "drill-token-0123456789abcdef"


def test_the_journal_replays_whole_records_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "j")
    ends = [journal.append(f"record {i}".encode()) for i in range(3)]
    journal.close()
    segment = next((tmp_path / "j").glob("*.log"))
    with open(segment, "ab") as handle:  # a crash in the middle of a write
        handle.write(b"\x40\x00\x00\x00\x01\x02")
    journal = FileJournal(tmp_path / "j")
    assert journal.position() == ends[-1]
    assert [r for _, r in journal.replay(0)] == [b"record 0", b"record 1", b"record 2"]
    assert [r for _, r in journal.replay(ends[0])] == [b"record 1", b"record 2"]
    journal.append(b"record 3")
    assert [r for _, r in journal.replay(ends[-1])] == [b"record 3"]
    journal.close()


def test_released_segments_are_deleted(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "j", segment_bytes=100)
    ends = [journal.append(b"x" * 40) for _ in range(10)]
    assert len(list((tmp_path / "j").glob("*.log"))) > 3
    journal.release(ends[6])
    assert [len(r) for _, r in journal.replay(ends[6])] == [40, 40, 40]
    journal.release(journal.position())  # everything checkpointed: one empty segment is left
    assert [p.stat().st_size for p in (tmp_path / "j").glob("*.log")] == [0]
    journal.append(b"after")
    journal.close()
    assert [r for _, r in FileJournal(tmp_path / "j").replay(ends[-1])] == [b"after"]


def test_always_sync_acknowledges_after_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    journal = FileJournal(tmp_path / "j", sync="always")
    position = journal.append(b"one")
    journal.wait(position)
    assert synced  # durable means fsynced in this mode

    async def many() -> None:
        positions = [journal.append(b"r%d" % i) for i in range(200)]
        await asyncio.gather(*(journal.wait_async(p) for p in positions))

    before = len(synced)
    asyncio.run(many())
    assert 0 < len(synced) - before < 200  # group commit: fewer fsyncs than records
    journal.close()


def test_records_keep_what_the_ingest_path_reads() -> None:
    head = headers("id-1", "request", when=1.0)
    kind, now, (kept, body) = decode_record(encode_event(5.0, {**head, "x-other": "dropped"}, b'{"instances": [[1]]}'))
    assert (kind, now, body) == ("event", 5.0, b'{"instances": [[1]]}')
    assert kept["ce-id"] == "id-1" and "x-other" not in kept and "ce-metadata" not in kept


def _settings(state: Path) -> MonitorSettings:
    models = {"fraud": ModelInfo("fraud", features=("amount", "age"))}
    return MonitorSettings(state_dir=state, models=models, schedule_seconds=3600, limits=Limits(window=100))


def test_a_crash_after_a_checkpoint_counts_every_event_once(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from mlpipex.monitor import Monitor

    monitor = Monitor(_settings(tmp_path / "state"))
    for i in range(30):
        monitor.ingestor.accept(headers(f"e{i}", "request", when=float(i)), v1_request([[float(i), 1.0]]), now=float(i))
        monitor.ingestor.accept(headers(f"e{i}", "response", when=i + 0.01), v1_response([[0.2, 0.8]]), now=float(i))
        if i == 19:
            monitor.checkpoint()  # 20 pairs in the checkpoint, 10 only in the journal
    monitor.ingestor.add_truths([("e25", [1.0], None)], now=31.0)
    # no close(): the process "dies" here; what the journal wrote is in the OS
    again = Monitor(_settings(tmp_path / "state"))
    [window] = again.ingestor.windows.values()
    assert (window.requests, window.responses, window.samples) == (30, 30, 30)
    assert window.rows.values()[:, 0].tolist() == [float(i) for i in range(30)]
    assert window.quality.size == 1 and again.replayed == 21  # 20 events and one labels record
    assert again.ingestor.add_truth("e3", [0.0], None)  # a prediction from before the checkpoint still joins
    again.close()
    monitor.journal.close()


def test_a_lost_journal_directory_replays_what_the_new_one_holds(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    import shutil

    from mlpipex.monitor import Monitor

    monitor = Monitor(_settings(tmp_path / "state"))
    for i in range(5):
        monitor.ingestor.accept(headers(f"a{i}", "request", when=1.0), v1_request([[1.0, 2.0]]), now=1.0)
    monitor.close()  # checkpoint at a position past 0
    shutil.rmtree(tmp_path / "state" / "journal")
    monitor = Monitor(_settings(tmp_path / "state"))
    for i in range(3):
        monitor.ingestor.accept(headers(f"b{i}", "request", when=2.0), v1_request([[1.0, 2.0]]), now=2.0)
    again = Monitor(_settings(tmp_path / "state"))  # "killed" before a checkpoint
    assert [w.requests for w in again.ingestor.windows.values()] == [8]
    again.close()
    monitor.journal.close()


def test_a_checkpoint_compresses_only_the_windows_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    from mlpipex.monitor import Monitor, _store

    packed: list[int] = []
    real = _store.pack_arrays
    monkeypatch.setattr(_store, "pack_arrays", lambda arrays: (packed.append(1), real(arrays))[1])
    monitor = Monitor(_settings(tmp_path / "state"))
    pods = [f"fraud-predictor-0000{n}-deployment-5d8f7c9b4-x7k2p" for n in range(1, 5)]
    for n, pod in enumerate(pods):
        monitor.ingestor.accept(headers(f"r{n}", "request", when=1.0, pod=pod), v2_request([[1.0, 2.0]]), now=1.0)
    monitor.checkpoint()
    assert len(packed) == 4
    monitor.ingestor.accept(headers("r9", "response", when=1.0, pod=pods[0]), v2_response([1], [[0.1, 0.9]]), now=2.0)
    monitor.checkpoint()
    assert len(packed) == 5  # one window changed: one compressed, three kept as they were
    monitor.close()
    again = Monitor(_settings(tmp_path / "state"))
    assert sorted(w.requests + w.responses for w in again.ingestor.windows.values()) == [1, 1, 1, 2]
    again.close()


# -- the drill: the real process, SIGKILL ----------------------------------------------------


def _serve(state: Path, port: int, sync: str = "os") -> subprocess.Popen[bytes]:
    env = {**os.environ, "MLPIPEX_MONITOR_TOKEN": TOKEN, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "mlpipex", "monitor", "serve", "--port", str(port),
                             "--state", str(state), "--schedule", "1s", "--journal-sync", sync], cwd=state.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def _up(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.mark.parametrize("sync", ["os", "always"])
def test_sigkill_loses_no_acknowledged_event(tmp_path: Path, sync: str) -> None:
    """2,000 acknowledged events, SIGKILL mid-stream, restart: all 2,000 counted, exactly once."""
    state, port = tmp_path / "state", free_port()
    process = _serve(state, port, sync)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        assert wait_until(lambda: _up(port), timeout=60), process.stderr.read1().decode()  # type: ignore[union-attr]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        acknowledged = 0
        started = time.time()
        for i in range(1000):
            for kind, body in (("request", v1_request([[float(i), 2.0]])), ("response", v1_response([[0.3, 0.7]]))):
                connection.request("POST", "/events", body=body, headers={**headers(f"k{i}", kind, when=time.time()),
                                                                          **auth})  # fmt: skip
                reply = connection.getresponse()
                reply.read()
                assert reply.status == 200
                acknowledged += 1
            if i == 500:
                time.sleep(1.5)  # let a scheduled check checkpoint mid-stream: checkpoint + journal on restart
        elapsed = time.time() - started
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown handler runs
        process.wait(timeout=30)
    assert acknowledged == 2000 and process.returncode == -signal.SIGKILL
    process = _serve(state, port, sync)
    try:
        assert wait_until(lambda: _up(port), timeout=60)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/v1/windows", headers=auth)
        [window] = json.loads(connection.getresponse().read())["windows"]
        assert (window["requests"], window["responses"], window["samples"]) == (1000, 1000, 1000)
        assert window["rows"] == 1000
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    segments = list((state / "journal").glob("*.log"))
    assert len(segments) <= 2, "the journal is compacted after each checkpoint"
    print(f"--journal-sync {sync}: 2,000 acknowledged events in {elapsed:.1f} s, all counted once after SIGKILL")
