"""How runs are operated, against the real `harness` command line and a local fake OpenAI-compatible endpoint:
a supervisor's SIGTERM (or SIGHUP), two processes on one run, a results folder that fills up or cannot be
written. Each run stops with one line, leaves valid records and is resumed to completion without a duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.store.records import read_records, record_key
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, fake_openai_models, load_suite, run_cli

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def _start(*args: str, cwd: Path) -> subprocess.Popen:
    """`harness ...` started in the background, as a supervisor or a second terminal would."""
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_args(tmp_path: Path, api: FakeAPI, n_tasks: int, out: Path | None = None, concurrency: int = 1) -> list[str]:
    models = fake_openai_models(tmp_path, f"{api.base_url}/v1")
    if concurrency > 1:
        models.write_text(models.read_text().replace("max_attempts: 1", f"max_attempts: 1, concurrency: {concurrency}"))
    return ["run", "--models", str(models), "--suite", str(load_suite(tmp_path, n_tasks)),
            "--out", str(out or tmp_path / "out"), "--no-report", "--idle-seconds", "0"]


def _wait_for_records(proc: subprocess.Popen, out: Path, n: int, timeout_s: float = 120) -> Path:
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        found = list(out.glob("*/records.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= n:
            return found[0].parent
        time.sleep(0.05)


def _one_line(stderr: str) -> str:
    """The one error line of `stderr` (beside the run's progress and warnings), with no traceback."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


def _keys(run_dir: Path) -> Counter:
    return Counter(record_key(r) for r in read_records(run_dir / "records.jsonl", warn=None))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["sigterm", "sighup"])
def test_a_stop_signal_marks_the_run_interrupted_and_resume_completes_it_without_a_duplicate(tmp_path, signum, code):
    with FakeAPI(usage=USAGE, delay_s=0.15) as api:
        proc = _start(*_run_args(tmp_path, api, 16), cwd=tmp_path)
        run_dir = _wait_for_records(proc, tmp_path / "out", 3)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == code, stderr
        name = signal.Signals(signum).name
        assert f"{name}: stopping after the request in flight" in stderr
        assert f"to resume: harness run --resume {run_dir}" in stderr and "Traceback" not in stderr, stderr
        manifest = json.loads((run_dir / "run.json").read_text())
        assert manifest["status"] == "interrupted" and manifest["stopped_by"] == {"signal": name}
        assert manifest["models"]["fake"]["status"] == "interrupted"
        n_before = sum(_keys(run_dir).values())
        assert 3 <= n_before < 16

        resumed = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    keys = _keys(run_dir)
    assert len(keys) == 16 and set(keys.values()) == {1}            # every task once, none twice
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "complete" and "stopped_by" not in manifest
    assert manifest["resumed"][0]["earlier_stop"] == {"signal": name}


@pytest.mark.parametrize("concurrency", [1, 2], ids=["sequential", "threads"])
def test_sigterm_cuts_a_stalled_request_at_the_deadline_and_a_second_sigterm_stops_at_once(tmp_path, concurrency):
    stall = {"do": "stall", "seconds": 60}
    with FakeAPI([{"do": "ok"}] + [dict(stall) for _ in range(2 * concurrency)], usage=USAGE) as api:
        args = _run_args(tmp_path, api, 2 + 2 * concurrency, concurrency=concurrency)
        proc = _start(*args, cwd=tmp_path)
        _wait_for_records(proc, tmp_path / "out", 1)
        time.sleep(0.5)                                             # the second request is now stalled
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        graceful_s = time.monotonic() - t0
        assert proc.returncode == 143, stderr
        assert 7 < graceful_s < 20, graceful_s                      # the 8 s grace, not the 60 s stall
        (run_dir,) = (tmp_path / "out").iterdir()
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"

        proc = _start("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
        while len(api.requests) < 1 + 2 * concurrency:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143 and time.monotonic() - t0 < 5, stderr
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["stopped_by"] == {"signal": "SIGTERM"}
    assert sum(_keys(run_dir).values()) == 1                        # the cut requests are left to --resume


def _interrupted(tmp_path: Path, api: FakeAPI, n_tasks: int, n_done: int) -> Path:
    """A finished run cut back to its first `n_done` records and marked interrupted, as a kill leaves it."""
    proc = run_cli(*_run_args(tmp_path, api, n_tasks), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    lines = (run_dir / "records.jsonl").read_bytes().splitlines(keepends=True)
    (run_dir / "records.jsonl").write_bytes(b"".join(lines[:n_done]))
    manifest = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    return run_dir


def test_two_resumes_started_together_one_refuses_naming_the_holder(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        run_dir = _interrupted(tmp_path, api, 12, 4)
        api.delay_s = 0.2
        first, second = (_start("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path) for _ in range(2))
        results = [(proc, *proc.communicate(timeout=120)) for proc in (first, second)]
        sent = len(api.requests) - 12
    codes = sorted(proc.returncode for proc, _, _ in results)
    assert codes == [0, 2], [(p.returncode, err) for p, _, err in results]
    (winner, _, _), (_, _, loser_err) = sorted(results, key=lambda r: r[0].returncode)
    line = _one_line(loser_err)
    assert f"--resume {run_dir}: the run is in use by pid {winner.pid} on {os.uname().nodename} since 20" in line
    assert sent == 8                                                # the 8 remaining tasks, sent once
    keys = _keys(run_dir)
    assert len(keys) == 12 and set(keys.values()) == {1}


def test_a_killed_run_never_blocks_its_resume(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.15) as api:
        proc = _start(*_run_args(tmp_path, api, 10), cwd=tmp_path)
        run_dir = _wait_for_records(proc, tmp_path / "out", 2)
        proc.kill()                                                 # SIGKILL: no handler, the kernel drops the lock
        proc.wait()
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
        resumed = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    keys = _keys(run_dir)
    assert len(keys) == 10 and set(keys.values()) == {1}


def test_nightly_refuses_a_baseline_that_another_process_holds(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        run_dir = _interrupted(tmp_path, api, 3, 3)
        hold = f"import time\nfrom harness.store.runlock import RunLock\nRunLock({str(run_dir)!r}).acquire()\n" \
               "print('held', flush=True)\ntime.sleep(60)"
        holder = subprocess.Popen([sys.executable, "-c", hold],
                                  env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            args = [arg for arg in _run_args(tmp_path, api, 3)[1:] if arg != "--no-report"]
            proc = run_cli("nightly", *args, "--repeat", "1", "--baseline", str(run_dir), "--report-dir",
                           str(tmp_path / "reports"), cwd=tmp_path)
            sent = len(api.requests)
        finally:
            holder.kill()
            holder.wait()
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert f"--baseline {run_dir}: the run is in use by pid {holder.pid}" in line, line
    assert sent == 3                                                # refused before anything ran


# --- a results folder that fills up or cannot be written ------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs (root only: `mount` needs it), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the file-size-limit test covers the case without it)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_in_one_line_and_resume_completes_once_space_is_freed(tmp_path, small_disk):
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli(*_run_args(tmp_path, api, 200, out=small_disk / "out"), cwd=tmp_path)
        assert proc.returncode == 74, proc.stderr
        (run_dir,) = (small_disk / "out").iterdir()
        line = _one_line(proc.stderr)
        assert line.startswith(f"error: {run_dir}: cannot write: [Errno 28] No space left on device"), line
        assert line.endswith(f"to resume once it can be written: harness run --resume {run_dir}"), line
        raw = (run_dir / "records.jsonl").read_bytes()
        assert raw.endswith(b"\n")                                  # no torn last line left behind
        n_before = len(read_records(run_dir / "records.jsonl", warn=None))
        assert 5 < n_before < 200
        manifest = json.loads((run_dir / "run.json").read_text())  # still one complete document
        assert manifest["status"] in ("running", "interrupted")    # "why" only where there was room to say it

        refused = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr              # still full: refused before the model loads
        assert f"--resume {run_dir}: cannot write results there" in _one_line(refused.stderr)

        subprocess.run(["mount", "-o", "remount,size=2m", str(small_disk)], check=True)
        resumed = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
        sent = len(api.requests)
    assert resumed.returncode == 0, resumed.stderr
    keys = _keys(run_dir)
    assert len(keys) == 200 and set(keys.values()) == {1}
    assert sent <= 200 + 1                                          # at most the one cut request is sent again
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"


def test_a_file_size_limit_stops_the_run_the_same_way_and_the_manifest_says_why(tmp_path):
    """The full-disk case without root: RLIMIT_FSIZE makes records.jsonl stop growing (EFBIG, as a quota would)
    while run.json, smaller, can still say why the run stopped."""
    limit = "import resource, runpy, sys\nresource.setrlimit(resource.RLIMIT_FSIZE, (24000, 24000))\n" \
            "sys.argv = ['harness', *sys.argv[1:]]\nrunpy.run_module('harness', run_name='__main__')"
    with FakeAPI(usage=USAGE) as api:
        proc = subprocess.run([sys.executable, "-c", limit, *_run_args(tmp_path, api, 200)], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 74, proc.stderr
        (run_dir,) = (tmp_path / "out").iterdir()
        line = _one_line(proc.stderr)
        assert line.startswith(f"error: {run_dir}: cannot write: [Errno 27] File too large"), line
        manifest = json.loads((run_dir / "run.json").read_text())
        assert manifest["status"] == "interrupted"
        assert manifest["stopped_by"] == {"output_error": "[Errno 27] File too large", "folder": str(run_dir)}
        raw = (run_dir / "records.jsonl").read_bytes()
        assert raw.endswith(b"\n") and len(raw) <= 24000            # cut back to the last whole record
        n_before = len(read_records(run_dir / "records.jsonl", warn=None))
        resumed = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    keys = _keys(run_dir)
    assert 5 < n_before < 200 and len(keys) == 200 and set(keys.values()) == {1}
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["resumed"][0]["earlier_stop"]["output_error"] == "[Errno 27] File too large"


def test_debug_adds_the_traceback_to_the_one_line(tmp_path, small_disk):
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("--debug", *_run_args(tmp_path, api, 200, out=small_disk / "out"), cwd=tmp_path)
    assert proc.returncode == 74 and "Traceback" in proc.stderr and "No space left on device" in proc.stderr


@pytest.mark.parametrize("case", ["read-only", "full"])
def test_an_out_folder_that_cannot_be_written_is_refused_before_anything_runs(tmp_path, small_disk, case):
    if case == "read-only":
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    else:
        (small_disk / "filler").write_bytes(b"x" * 60_000)
        with pytest.raises(OSError):
            (small_disk / "more").write_bytes(b"x" * 8192)
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli(*_run_args(tmp_path, api, 3, out=small_disk / "out"), cwd=tmp_path)
        sent = len(api.requests)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2 and line.startswith(f"error: --out {small_disk / 'out'}: cannot write results there")
    assert sent == 0
