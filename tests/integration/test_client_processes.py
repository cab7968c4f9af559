"""A load level split between client processes (`--client-processes N`, run/clients.py): the split itself,
a closed and an open loop through real processes against a local server, and a client process killed in the
middle of a level."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.backends import Prompt
from harness.execution.client_processes import default_client_processes, split_level
from harness.execution.loadgen import Level
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, fake_openai_models, load_suite, run_cli

pytestmark = [pytest.mark.ray]

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def _items(n: int) -> list[tuple[int, Prompt]]:
    return [(i, Prompt(style="chat", max_tokens=4, messages=[{"role": "user", "content": str(i)}])) for i in range(n)]


def test_a_closed_loop_deals_its_slots_evenly_and_requests_in_proportion():
    shares = split_level(Level("concurrent:5", concurrency=5), _items(100), 2)
    assert [s.level.concurrency for s in shares] == [3, 2]
    assert [len(s.items) for s in shares] == [60, 40]
    assert sorted(i for s in shares for i, _ in s.items) == list(range(100))
    # never more clients than slots or requests
    assert len(split_level(Level("concurrent:2", concurrency=2), _items(100), 8)) == 2
    assert len(split_level(Level("concurrent:64", concurrency=64), _items(3), 8)) == 3


def test_an_open_loop_deals_one_schedule_and_keeps_its_offsets():
    offsets = list(np.arange(10) * 0.1)
    shares = split_level(Level("poisson:10", rate_per_s=10.0), _items(10), 3, offsets, start_at_s=123.0)
    assert [len(s.items) for s in shares] == [4, 3, 3]
    merged = sorted((offset, index) for s in shares for (index, _), offset in zip(s.items, s.offsets_s))
    assert merged == [(offsets[i], i) for i in range(10)] and {s.start_at_s for s in shares} == {123.0}


def test_the_default_is_one_process_unless_the_level_is_large():
    assert default_client_processes(Level("concurrent:512", concurrency=512), 100, 16) == 1   # too few requests
    assert default_client_processes(Level("concurrent:512", concurrency=512), 5000, 16) == 4
    assert default_client_processes(Level("concurrent:512", concurrency=512), 5000, 2) == 1   # half the cores
    assert default_client_processes(Level("poisson:3000", rate_per_s=3000.0), 5000, 16) == 3


def test_two_client_processes_keep_the_level_concurrency_and_every_record_once(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.2) as api:
        proc = run_cli("run", "--models", str(fake_openai_models(tmp_path, f"{api.base_url}/v1")), "--suite", str(load_suite(tmp_path, 16)),
                       "--profile", "concurrent:4", "--client-processes", "2", "--out", str(tmp_path / "out"),
                       "--no-report")
        in_flight = api.max_in_flight
    assert proc.returncode == 0, proc.stderr
    assert in_flight == 4
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(16))
    assert all(r["error"] is None and r["verdict"] == "correct" for r in records)
    level = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["concurrent:4"]
    clients = level["clients"]
    assert level["client_processes"] == 2 and len({c["pid"] for c in clients}) == 2
    assert [c["concurrency"] for c in clients] == [2, 2] and sum(c["n_requests"] for c in clients) == 16
    assert [sum(r["client"] == i for r in records) for i in (0, 1)] == [c["n_requests"] for c in clients]
    assert os.getpid() not in {c["pid"] for c in clients}
    assert level["client_cpu_s"] == pytest.approx(sum(c["cpu_s"] for c in clients)) and level["client_cpu_s"] > 0


def test_an_open_loop_over_two_processes_keeps_the_schedule(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.3) as api:
        proc = run_cli("run", "--models", str(fake_openai_models(tmp_path, f"{api.base_url}/v1")), "--suite", str(load_suite(tmp_path, 120)),
                       "--profile", "poisson:40", "--client-processes", "2", "--out", str(tmp_path / "out"),
                       "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert len(records) == 120
    started = np.array([np.datetime64(r["started_at"].replace("+00:00", "")) for r in records], dtype="datetime64[us]")
    start_s = (started - started.min()).astype(np.int64) / 1e6
    scheduled = np.array([r["scheduled_offset_s"] for r in records])
    lateness = start_s - (scheduled - scheduled.min())
    # every request started at its offset from the shared start (to the clock's 1 ms stamp), none long after
    assert lateness.min() > -0.002 and np.percentile(lateness, 90) < 0.1, lateness
    span = scheduled.max() - scheduled.min()
    assert 119 / span == pytest.approx(40, rel=0.3)  # the asked rate, over both processes


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_client_process_killed_mid_level_leaves_its_requests_failed_and_resumable(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.25) as api:
        models, suite = fake_openai_models(tmp_path, f"{api.base_url}/v1"), load_suite(tmp_path, 40)
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--models", str(models), "--suite", str(suite), "--profile",
             "concurrent:2", "--client-processes", "2", "--out", str(tmp_path / "out"), "--no-report",
             "--idle-seconds", "0"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(api.requests) < 6:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        clients = [pid for pid in _children(proc.pid)
                   if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                   and "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        assert len(clients) == 2, clients
        os.kill(clients[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 1, stderr                       # failures recorded, the run completed
        (run_dir,) = (tmp_path / "out").iterdir()
        records = read_records(run_dir / "records.jsonl")
        assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(40))
        lost = [r for r in records if r["error"] is not None]
        assert lost and all(r["error"]["error_class"] == "client_lost" for r in lost)
        assert 5 <= len(records) - len(lost) < 40
        resumed = run_cli("run", "--resume", str(run_dir), "--retry-failed", "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    records = read_records(run_dir / "records.jsonl")
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(40))
    assert all(r["error"] is None for r in records)


@pytest.mark.parametrize("args, message", [
    (["--client-processes", "0"], "--client-processes 0: input should be greater than or equal to 1"),
    (["--ray", "127.0.0.1:1"], "--ray 127.0.0.1:1: no Ray cluster answers there"),
])
def test_bad_placement_flags_are_one_line_before_anything_runs(tmp_path, args, message):
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(fake_openai_models(tmp_path, f"{api.base_url}/v1")), "--suite", str(load_suite(tmp_path, 2)),
                       "--out", str(tmp_path / "out"), "--no-report", *args, timeout=60)
        sent = len(api.requests)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr and sent == 0 and not (tmp_path / "out").exists()

