"""The fault matrix: every fault a run can meet, each a test named after it, each asserting the outcome and
that no record is lost or duplicated.

API faults come from a local server the test scripts (a real server will not produce them on demand);
interruptions hit a real `harness run` of SmolLM2 through llama.cpp in a subprocess; bad input goes
through the real command line.
"""

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

from harness.energy import MeterError
from harness.execution.resume import record_key
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, run_cli, write

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def _suite(folder: Path, n: int, max_tokens: int = 16, name: str = "faults") -> Path:
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "What is 6 times 7? Then explain in one sentence.", '
                      f"max_tokens: {max_tokens}, expected: 42, checker: numeric}}" for i in range(1, n + 1))
    return write(folder / f"{name}.yaml", f"name: {name}\nversion: 1\ntasks:\n{tasks}\n")


def _only_run(out: Path) -> Path:
    (run_dir,) = out.iterdir()
    return run_dir


def _assert_one_record_per_key(records: list[dict], expected: int) -> None:
    counts = Counter(record_key(r) for r in records)
    assert len(counts) == expected and set(counts.values()) == {1}, counts


# --- API faults: one scripted run, one task per fault -------------------------------------------------------

SCRIPT = [
    {"do": "status", "status": 429, "headers": {"retry-after": "1"}}, {"do": "ok"},  # t1
    {"do": "status", "status": 500}, {"do": "ok"},                                    # t2
    {"do": "stall", "seconds": 2.0}, {"do": "stall", "seconds": 2.0},                 # t3: both attempts time out
    {"do": "drop"}, {"do": "ok"},                                                     # t4
    {"do": "malformed"},                                                              # t5: not retried
    {"do": "ok"},                                                                     # t6
]


# Both request paths: one request at a time through the SDK, and the load generator's own client
# (`--profile synchronous`: backends/sse_client.py), which must classify every fault the same way. One client
# process, fixed: a level flagged by the client's self-watch would otherwise be run again and replay the script.
PATHS = {"one-at-a-time": [], "load-generator": ["--profile", "synchronous", "--client-processes", "1"]}


@pytest.fixture(scope="module", params=list(PATHS))
def api_run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-faults")
    with FakeAPI(list(SCRIPT), usage=USAGE) as api:
        models = write(folder / "models.yaml", f"models:\n  - {{name: fake, kind: openai, base_url: '{api.base_url}/v1',"
                                               " model: m, timeout_s: 0.5, max_attempts: 2}\n")
        proc = run_cli("run", "--models", str(models), "--suite", str(_suite(folder, 6)), "--out", str(folder / "out"),
                       *PATHS[request.param])
        requests = list(api.requests)
    records = read_records(_only_run(folder / "out") / "records.jsonl")
    assert proc.returncode == 1, proc.stderr          # failures recorded, the run completed
    assert "Traceback" not in proc.stderr
    _assert_one_record_per_key(records, 6)
    assert len(requests) == 10
    return {r["task_id"]: r for r in records}, requests


def _failed_classes(record: dict) -> list[str]:
    return [attempt["error_class"] for attempt in record["failed_attempts"]]


def test_rate_limited_429_with_retry_after(api_run):
    records, requests = api_run
    record = records["t1"]
    assert _failed_classes(record) == ["rate_limited"] and record["failed_attempts"][0]["wait_s"] == 1.0
    assert requests[1]["at"] - requests[0]["at"] >= 1.0      # the server's Retry-After was honoured
    assert record["error"] is None and record["verdict"] == "correct" and record["attempts"] == 2


def test_server_error_500(api_run):
    record = api_run[0]["t2"]
    assert _failed_classes(record) == ["server_error"] and record["error"] is None and record["attempts"] == 2


def test_read_timeout(api_run):
    record = api_run[0]["t3"]
    assert _failed_classes(record) == ["timeout"]
    assert record["error"]["error_class"] == "timeout" and record["attempts"] == 2


def test_disconnect_mid_stream(api_run):
    record = api_run[0]["t4"]
    assert _failed_classes(record) == ["disconnected"]
    assert record["error"] is None and record["output_text"] == "The answer is 42."


def test_malformed_sse(api_run):
    record = api_run[0]["t5"]
    assert record["error"]["error_class"] == "malformed_stream" and record["attempts"] == 1


@pytest.mark.parametrize("path", list(PATHS))
def test_connection_refused(tmp_path, path):
    with FakeAPI() as api:
        dead_url = api.base_url  # the port is closed once the server stops
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: gone, kind: openai, base_url: '{dead_url}/v1', "
                                             "model: m, max_attempts: 2}\n")
    proc = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 2)), "--out", str(tmp_path / "out"),
                   *PATHS[path])
    records = read_records(_only_run(tmp_path / "out") / "records.jsonl")
    assert proc.returncode == 1
    _assert_one_record_per_key(records, 2)
    assert all(r["error"]["error_class"] == "connection" and r["attempts"] == 2 for r in records)


# --- interruptions of a real llama.cpp run -------------------------------------------------------------------

def _start_run(tmp_path: Path, smollm2_gguf: Path, n_tasks: int = 10) -> tuple[subprocess.Popen, Path]:
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}\n")
    suite = _suite(tmp_path, n_tasks, max_tokens=48, name="long")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--models", str(models), "--suite", str(suite),
         "--out", str(tmp_path / "out"), "--idle-seconds", "0", "--no-report"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, tmp_path / "out"


def _wait_for_records(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 600) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = list(out.iterdir()) if out.exists() else []
        if runs and (runs[0] / "records.jsonl").exists():
            if (runs[0] / "records.jsonl").read_bytes().count(b"\n") >= n:
                return runs[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the run wrote no records in time")


def _resume(run_dir: Path) -> subprocess.CompletedProcess:
    return run_cli("run", "--resume", str(run_dir), "--no-report")


def test_ctrl_c_mid_run_finishes_the_request_marks_the_run_and_resumes(tmp_path, smollm2_gguf):
    proc, out = _start_run(tmp_path, smollm2_gguf)
    run_dir = _wait_for_records(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, stderr
    assert "stopping after the request in flight" in stderr
    assert f"to resume: harness run --resume {run_dir}" in stderr
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["models"]["smol"]["status"] == "interrupted"
    before = (run_dir / "records.jsonl").read_bytes()
    records = read_records(run_dir / "records.jsonl", warn=None)
    assert 2 <= len(records) < 10 and before.endswith(b"\n")     # the request in flight was finished, not torn
    _assert_one_record_per_key(records, len(records))
    # Every task is the same greedy request on a cleared cache: a request cut short by the Ctrl-C would
    # have fewer tokens than the others. (tests/test_promises.py holds a request surely in flight.)
    assert all(r["error"] is None for r in records)
    assert {(r["output_tokens"], r["output_text"]) for r in records} == {(records[0]["output_tokens"], records[0]["output_text"])}
    resumed = _resume(run_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert (run_dir / "records.jsonl").read_bytes().startswith(before)
    _assert_one_record_per_key(read_records(run_dir / "records.jsonl"), 10)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"


def test_second_ctrl_c_stops_at_once_without_corrupting_files(tmp_path, smollm2_gguf):
    proc, out = _start_run(tmp_path, smollm2_gguf)
    run_dir = _wait_for_records(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - t0 < 10, stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"   # one complete document
    records = read_records(run_dir / "records.jsonl", warn=None)
    _assert_one_record_per_key(records, len(records))
    assert _resume(run_dir).returncode == 0
    _assert_one_record_per_key(read_records(run_dir / "records.jsonl"), 10)


def test_sigkill_mid_run_then_resume(tmp_path, smollm2_gguf):
    proc, out = _start_run(tmp_path, smollm2_gguf)
    run_dir = _wait_for_records(out, 3, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    raw = (run_dir / "records.jsonl").read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]                           # what was fully written before the kill
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    resumed = _resume(run_dir)
    assert resumed.returncode == 0, resumed.stderr
    after = (run_dir / "records.jsonl").read_bytes()
    assert after.startswith(complete)                                # records written before the kill unchanged
    _assert_one_record_per_key(read_records(run_dir / "records.jsonl"), 10)


def test_resume_refuses_a_changed_suite_or_model(tmp_path, smollm2_gguf):
    proc, out = _start_run(tmp_path, smollm2_gguf, n_tasks=4)
    run_dir = _wait_for_records(out, 1, proc)
    proc.kill()
    proc.communicate(timeout=30)
    suite = tmp_path / "long.yaml"
    original = suite.read_text()
    suite.write_text(original.replace("max_tokens: 48", "max_tokens: 47", 1))
    changed = _resume(run_dir)
    assert changed.returncode == 2 and "suite 'long' changed since the run began" in changed.stderr
    suite.write_text(original)
    models = tmp_path / "models.yaml"
    models.write_text(models.read_text().replace("}", ", n_ctx: 1024}"))
    changed = _resume(run_dir)
    assert changed.returncode == 2 and "model 'smol' changed since the run began (key 'n_ctx')" in changed.stderr
    assert run_cli("run", "--retry-failed").returncode == 2


# --- bad input and the machine -------------------------------------------------------------------------------

def _bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    for fragment in fragments:
        assert fragment in line, line


def test_unknown_key_in_models_yaml(tmp_path):
    models = write(tmp_path / "models.yaml", "models:\n  - {name: a, kind: llama_cpp, path: x.gguf, n_thread: 2}\n")
    _bad_input(run_cli("run", "--models", str(models), "--out", str(tmp_path / "out")),
               str(models), "model 'a'", "key 'n_thread': unknown key")
    assert not (tmp_path / "out").exists()


def test_wrong_type_in_models_yaml(tmp_path):
    models = write(tmp_path / "models.yaml", "models:\n  - {name: a, kind: llama_cpp, path: x.gguf, n_ctx: big}\n")
    _bad_input(run_cli("run", "--models", str(models)), "model 'a'", "key 'n_ctx': Input should be a valid integer")


def test_missing_model_file(tmp_path):
    models = write(tmp_path / "models.yaml", "models:\n  - {name: a, kind: llama_cpp, path: gone.gguf}\n")
    _bad_input(run_cli("run", "--models", str(models), "--out", str(tmp_path / "out")),
               "model 'a'", "key 'path'", "file not found")
    assert not (tmp_path / "out").exists()


def test_corrupt_gguf(tmp_path, smollm2_gguf):
    cut = tmp_path / "cut.gguf"
    with smollm2_gguf.open("rb") as handle:
        cut.write_bytes(handle.read(5_000_000))
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: a, kind: llama_cpp, path: {cut}}}\n")
    _bad_input(run_cli("run", "--models", str(models)), "model 'a'", "truncated")


def test_missing_api_key(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_UNSET_KEY", raising=False)
    models = write(tmp_path / "models.yaml", "models:\n  - {name: paid, kind: openai, provider: openai, model: gpt-5-mini,"
                                             " api_key_env: HARNESS_TEST_UNSET_KEY}\n")
    proc = run_cli("run", "--models", str(models))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "skipping model 'paid': set HARNESS_TEST_UNSET_KEY to run it",
        f"error: {models}: no selected model can run here (set HARNESS_TEST_UNSET_KEY to run it)"]


NO_DRIVER_PYNVML = """
# A stand-in for nvidia-ml-py on a machine without an NVIDIA driver: the library imports, nvmlInit fails.
class NVMLError(Exception):
    def __init__(self, value):
        super().__init__(f"Driver Not Loaded (NVML error {value})")
        self.value = value
NVML_ERROR_DRIVER_NOT_LOADED = 9
def nvmlInit():
    raise NVMLError(NVML_ERROR_DRIVER_NOT_LOADED)
def nvmlShutdown():
    pass
"""


def test_no_gpu_no_nvml(tmp_path, smollm2_gguf, monkeypatch):
    # nvidia-ml-py installed but no GPU or driver (the library seam), whether or not this machine has the package.
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "pynvml.py").write_text(NO_DRIVER_PYNVML)
    monkeypatch.syspath_prepend(str(stub))
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    from harness.energy.meter_setup import EnergySettings, build_meter
    from harness.energy.nvml import nvml_readers

    with pytest.raises(MeterError, match="NVML unavailable: Driver Not Loaded"):
        nvml_readers()
    meter, notes = build_meter(EnergySettings(meter="auto"), device="gpu")
    assert [r.device for r in meter.readers] == ["cpu"] and any("GPU energy unavailable" in n for n in notes)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")]))
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: smol, kind: llama_cpp, path: {smollm2_gguf},"
                                             " n_gpu_layers: -1}\n")
    proc = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 2)), "--out", str(tmp_path / "out"),
                   "--energy", "auto")
    assert proc.returncode == 0, proc.stderr
    assert "no GPU support: running on the CPU" in proc.stderr
    run_dir = _only_run(tmp_path / "out")
    entry = json.loads((run_dir / "run.json").read_text())["models"]["smol"]
    assert entry["load"]["device"] == "cpu" and entry["energy_meter"]["sources"] in (["estimated"], ["rapl"])
    _assert_one_record_per_key(read_records(run_dir / "records.jsonl"), 2)


def test_results_directory_not_writable(tmp_path, smollm2_gguf):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}\n")
    _bad_input(run_cli("run", "--models", str(models), "--out", str(blocker / "results")),
               f"--out {blocker / 'results'}: cannot write results there")
    if os.geteuid() != 0:  # permission bits do not bind root; the case above covers it
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _bad_input(run_cli("run", "--models", str(models), "--out", str(locked)), "cannot write results there")
