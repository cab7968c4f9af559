"""README promises that had no test of their own, each checked through the real command line against a
server the test controls: request settings that reach the body, `HARNESS_MODELS`, `--resume` over a torn
last line and with `--retry-failed`, a stream that ends before its finish reason, timings of the final
attempt, the chars/4 fallback of projected costs, atomic writes of the manifest, report and exports, and
what the first and second Ctrl-C leave behind."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from harness.analysis.request_metrics import request_metrics
from harness.formatting import usd
from harness.store.records import read_records
from tests.support.fake_api import ANSWER, FakeAPI
from tests.support.runs import run_cli, write

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
PRICE = "cost: {input_usd_per_mtok: 1.0, output_usd_per_mtok: 2.0, source: test, as_of: 2026-12-01}"


def _suite(folder: Path, n: int, max_tokens: int = 16) -> Path:
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "What is 6 times 7?", max_tokens: {max_tokens}, expected: 42, '
                      f"checker: numeric}}" for i in range(1, n + 1))
    return write(folder / "suite.yaml", f"name: promises\nversion: 1\ntasks:\n{tasks}\n")


def _models(folder: Path, api: FakeAPI, extra: str = "") -> Path:
    return write(folder / "models.yaml", f"models:\n  - {{name: fake, kind: openai, base_url: '{api.base_url}/v1', "
                                         f"model: m, {PRICE}{extra}}}\n")


def _only_run(out: Path) -> Path:
    (run_dir,) = out.iterdir()
    return run_dir


# --- request settings, default models file ----------------------------------------------------------------

def test_temperature_null_and_max_tokens_floor_reach_the_request_body(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        models = write(tmp_path / "models.yaml", f"""
            models:
              - {{name: reasoner, kind: openai, provider: openai, base_url: '{api.base_url}/v1', model: gpt-5-mini,
                  api_key_env: HARNESS_TEST_PROMISE_KEY, temperature: null, max_tokens_floor: 2048}}
              - {{name: plain, kind: openai, base_url: '{api.base_url}/v1', model: m}}
            """)
        os.environ["HARNESS_TEST_PROMISE_KEY"] = "sk-test"
        try:
            proc = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 1)), "--out",
                           str(tmp_path / "out"), "--no-report")
        finally:
            del os.environ["HARNESS_TEST_PROMISE_KEY"]
        reasoner, plain = (r["body"] for r in api.requests)
    assert proc.returncode == 0, proc.stderr
    assert "temperature" not in reasoner                      # null: the field is left out
    assert reasoner["max_completion_tokens"] == 2048          # the floor, above the task's 16
    assert plain["temperature"] == 0 and plain["max_tokens"] == 16


def test_harness_models_names_the_default_models_file(tmp_path, monkeypatch):
    models = write(tmp_path / "elsewhere.yaml", "models:\n  - {name: from-env-file, kind: openai, "
                                                "base_url: 'http://127.0.0.1:9/v1', model: m}\n")
    monkeypatch.setenv("HARNESS_MODELS", str(models))
    proc = run_cli("models", cwd=tmp_path, env_columns=200)
    assert proc.returncode == 0, proc.stderr
    assert "from-env-file" in proc.stdout and "smollm2-135m-q4_1" not in proc.stdout


# --- resume --------------------------------------------------------------------------------------------------

def test_resume_retry_failed_runs_only_the_failed_requests_again(tmp_path):
    with FakeAPI([{"do": "ok"}, {"do": "status", "status": 400}, {"do": "ok"}], usage=USAGE) as api:
        models = _models(tmp_path, api)
        first = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 3)), "--out",
                        str(tmp_path / "out"), "--no-report")
        run_dir = _only_run(tmp_path / "out")
        plain = run_cli("run", "--resume", str(run_dir), "--no-report")
        after_plain = len(api.requests)
        retried = run_cli("run", "--resume", str(run_dir), "--retry-failed", "--no-report")
        bodies = api.requests[after_plain:]
    assert first.returncode == 1 and "Traceback" not in plain.stderr, first.stderr + plain.stderr
    assert after_plain == 3                                   # --resume alone does not run the failure again
    assert retried.returncode == 0, retried.stderr
    assert len(bodies) == 1                                   # only t2, once
    records = read_records(run_dir / "records.jsonl")
    assert [(r["task_id"], r["error"] is None) for r in records] == [("t1", True), ("t3", True), ("t2", True)]


def test_resume_over_a_torn_last_line(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        models = _models(tmp_path, api)
        assert run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 3)), "--out",
                       str(tmp_path / "out"), "--no-report").returncode == 0
        run_dir = _only_run(tmp_path / "out")
        path = run_dir / "records.jsonl"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])   # killed while writing t3
        resumed = run_cli("run", "--resume", str(run_dir), "--no-report")
        sent = len(api.requests)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{path}:3: dropped a torn last line" in resumed.stderr
    assert sent == 4                                          # t3 ran again, t1 and t2 did not
    raw = path.read_bytes()
    assert raw.startswith(b"".join(lines[:2])) and raw.endswith(b"\n")
    assert [r["task_id"] for r in read_records(path)] == ["t1", "t2", "t3"]


# --- retries -------------------------------------------------------------------------------------------------

def test_stream_ending_before_its_finish_reason_is_retried_and_timed_by_the_final_attempt(tmp_path):
    # The first attempt streams the whole answer after 2 s, then ends without a finish reason.
    with FakeAPI([{"do": "early_end", "seconds": 2.0}, {"do": "ok"}], usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api, ", max_attempts: 2")), "--suite",
                       str(_suite(tmp_path, 1)), "--out", str(tmp_path / "out"), "--no-report")
        sent = len(api.requests)
    assert proc.returncode == 0, proc.stderr
    (record,) = read_records(_only_run(tmp_path / "out") / "records.jsonl")
    assert sent == 2 and record["attempts"] == 2 and record["error"] is None
    (failed,) = record["failed_attempts"]
    assert failed["error_class"] == "disconnected" and failed["elapsed_s"] >= 2.0
    assert record["output_text"] == "".join(ANSWER) and record["finish_reason"] == "stop"
    metrics = request_metrics(record)
    # The final attempt answered at once; the failed attempt's 2 s and the backoff are not in its timings.
    assert metrics["e2e_s"] < 2.0 and metrics["ttft_s"] < 2.0
    assert dt.datetime.fromisoformat(record["started_at"]) >= dt.datetime.fromisoformat(failed["started_at"]) + \
        dt.timedelta(seconds=2.0)


# --- projected costs -----------------------------------------------------------------------------------------

def test_projected_cost_falls_back_to_chars_over_4_and_max_tokens(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_ABSENT_KEY", raising=False)
    prompt = "Read this twice. " * 24 + "What is 6 times 7?"           # 426 characters: 106 tokens
    suite = write(tmp_path / "suite.yaml", f'name: proj\nversion: 1\ntasks:\n  - {{id: a, prompt: "{prompt}", '
                                           "max_tokens: 40, expected: 42, checker: numeric}\n")
    # The only model that runs fails every request, so no model of the run measures the task's tokens.
    with FakeAPI([{"do": "status", "status": 400}], usage=USAGE) as api:
        models = write(tmp_path / "models.yaml", f"""
            models:
              - {{name: broken, kind: openai, base_url: '{api.base_url}/v1', model: m}}
              - {{name: gpt-5-mini, kind: openai, provider: openai, model: gpt-5-mini, api_key_env: HARNESS_TEST_ABSENT_KEY}}
            """)
        proc = run_cli("run", "--full", "--models", str(models), "--suite", str(suite), "--out",
                       str(tmp_path / "out"), "--no-report", env_columns=200)
    assert proc.returncode == 1, proc.stderr
    assert len(prompt) == 426
    by_hand = calc_price(Usage(input_tokens=426 // 4, output_tokens=40), "gpt-5-mini", provider_id="openai",
                         genai_request_timestamp=dt.datetime.now(dt.UTC)).total_price
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("│ gpt-5-mini")]   # the projected table
    assert f"{usd(float(by_hand))}*" in row, row  # the one money formatter's form


# --- atomic writes -------------------------------------------------------------------------------------------

BLOCK_REPLACE = """
import os, sys, time
target, skip = sys.argv[1], int(sys.argv[2])
real, seen = os.replace, [0]
def replace(src, dst, *args, **kwargs):
    if os.path.basename(str(dst)) == target:
        seen[0] += 1
        if seen[0] > skip:
            print("BLOCKED", flush=True)
            time.sleep(3600)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from harness.cli.main import main
sys.exit(main(sys.argv[3:]))
"""


def _killed_while_writing(target: str, skip: int, args: list[str], cwd: Path) -> None:
    """Run the harness with the rename onto `target` held (after `skip` renames) and kill it there: the last
    moment of a write. A writer that is not atomic never reaches the rename, and the test fails."""
    proc = subprocess.Popen([sys.executable, "-c", BLOCK_REPLACE, target, str(skip), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, deadline = "", time.monotonic() + 120
    try:
        while "BLOCKED" not in output:
            assert proc.poll() is None, f"{target} was never renamed into place: {proc.communicate()}"
            assert time.monotonic() < deadline, f"no write of {target} within 120 s"
            if select.select([proc.stdout], [], [], 0.1)[0]:
                output += proc.stdout.readline()
    finally:
        proc.kill()
        proc.communicate()


def test_report_and_exports_are_written_atomically(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        assert run_cli("run", "--models", str(_models(tmp_path, api)), "--suite", str(_suite(tmp_path, 2)), "--out",
                       str(tmp_path / "out"), "--no-report").returncode == 0
    run_dir = _only_run(tmp_path / "out")
    out = tmp_path / "reports" / "r.html"
    for name in ["r.html", "r.summary.csv", "r.records.csv", "r.records.parquet"]:
        assert run_cli("report", str(run_dir), "-o", str(out)).returncode == 0
        old = (out.parent / name).read_bytes()
        # A new report over the run twice (its models become `fake` and `fake #2`), killed at this file.
        _killed_while_writing(name, 0, ["report", str(run_dir), str(run_dir), "-o", str(out)], tmp_path)
        assert (out.parent / name).read_bytes() == old, name       # the old file, intact
    assert b"fake #2" in (out.parent / "r.html").read_bytes()      # (the last kill came after the new HTML)


def test_manifest_is_written_atomically(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        models = _models(tmp_path, api)
        # Held at the second rename onto run.json (the first creates it): the first version stays whole.
        _killed_while_writing("run.json", 1, ["run", "--models", str(models), "--suite", str(_suite(tmp_path, 2)),
                                              "--out", str(tmp_path / "out"), "--no-report", "--idle-seconds", "0"],
                              tmp_path)
    manifest = json.loads((_only_run(tmp_path / "out") / "run.json").read_text())
    assert manifest["status"] == "running"


# --- Ctrl-C with a request in flight -------------------------------------------------------------------------

def _start(tmp_path: Path, api: FakeAPI, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--models", str(_models(tmp_path, api)), "--suite",
         str(_suite(tmp_path, n)), "--out", str(tmp_path / "out"), "--no-report", "--idle-seconds", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_requests(api: FakeAPI, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while len(api.requests) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the server saw too few requests"
        time.sleep(0.02)


def test_first_ctrl_c_records_the_request_in_flight_complete(tmp_path):
    # Each answer streams over 5 x 0.4 s; the signal comes once the server holds the second request.
    with FakeAPI(usage=USAGE, chunk_gap_s=0.4) as api:
        proc = _start(tmp_path, api, 4)
        _wait_for_requests(api, 2, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        sent = len(api.requests)
    assert proc.returncode == 130, stderr
    run_dir = _only_run(tmp_path / "out")
    records = read_records(run_dir / "records.jsonl")
    assert sent == 2 and [r["task_id"] for r in records] == ["t1", "t2"]
    in_flight = records[1]
    assert in_flight["error"] is None and in_flight["output_text"] == "".join(ANSWER)
    assert in_flight["output_tokens"] == 5 and in_flight["finish_reason"] == "stop"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"


def _read_stderr_until(proc: subprocess.Popen, text: str, timeout_s: float = 60) -> str:
    seen, deadline = b"", time.monotonic() + timeout_s
    while text.encode() not in seen:
        assert proc.poll() is None and time.monotonic() < deadline, seen.decode(errors="replace")
        if select.select([proc.stderr], [], [], 0.1)[0]:
            seen += os.read(proc.stderr.fileno(), 65536)
    return seen.decode(errors="replace")


def test_second_ctrl_c_stops_long_before_the_request_in_flight_would_end(tmp_path):
    # The request in flight would take 5 x 4 s = 20 s to stream; a second Ctrl-C must not wait for it.
    with FakeAPI(usage=USAGE, chunk_gap_s=4.0) as api:
        proc = _start(tmp_path, api, 2)
        _wait_for_requests(api, 1, proc)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _read_stderr_until(proc, "Ctrl-C again to stop now")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        stopped_s = time.monotonic() - t0
    assert proc.returncode == 130
    assert stopped_s < 10, stopped_s
    run_dir = _only_run(tmp_path / "out")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert read_records(run_dir / "records.jsonl", warn=None) == []   # the request in flight was abandoned


# --- a real local model: KV cache, cost-override flags, break-even end to end ----------------------------------

LONG_TEXT = " ".join(["The river runs past the old mill, the bakery and the school on the corner."] * 30)
FLAGS = {"--electricity-usd-per-kwh": 0.4, "--pue": 1.5, "--hardware-usd-per-hour": 0.9, "--utilisation": 0.25}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, smollm2_gguf):
    """SmolLM2 through llama.cpp (one long prompt, three times), an API the test serves at a stated price,
    and an API without its key (projected), with every local-cost flag set on the command line."""
    folder = tmp_path_factory.mktemp("local")
    suite = write(folder / "long.yaml", "name: long\nversion: 1\ntasks:\n  - "
                  + json.dumps({"id": "mill", "prompt": f"{LONG_TEXT}\nWhat runs past the mill? One word.",
                                "max_tokens": 8, "expected": "river", "checker": "contains"}) + "\n")
    with FakeAPI(usage=USAGE) as api:
        models = write(folder / "models.yaml", f"""
            models:
              - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}
              - {{name: fake-api, kind: openai, base_url: '{api.base_url}/v1', model: m,
                  cost: {{input_usd_per_mtok: 1000, output_usd_per_mtok: 2000, source: test, as_of: 2026-12-01}}}}
              - {{name: gpt-5-mini, kind: openai, provider: openai, model: gpt-5-mini, api_key_env: HARNESS_NO_SUCH_KEY}}
            """)
        flags = [str(x) for pair in FLAGS.items() for x in pair]
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--repeat", "3", "--out",
                       str(folder / "out"), "--report-dir", str(folder / "reports"), *flags, env_columns=250)
    assert proc.returncode == 0, proc.stderr
    run_dir = _only_run(folder / "out")
    manifest = json.loads((run_dir / "run.json").read_text())
    records = [r for r in read_records(run_dir / "records.jsonl") if r["model"] == "smol"]
    return proc, manifest, records, (folder / "reports" / f"{run_dir.name}.html").read_text(), run_dir


@pytest.mark.model
def test_kv_cache_is_cleared_before_every_request(local_run):
    _, _, records, _, _ = local_run
    assert len(records) == 3 and records[0]["input_tokens"] > 400           # prefill dominates the first token
    assert len({r["output_text"] for r in records}) == 1                     # the same prompt, the same answer
    ttft_s = [request_metrics(r)["ttft_s"] for r in records]
    # A cache kept from the previous request would skip the whole prefill: the repeats' first token would
    # come 50x sooner. Cleared, every repeat pays the same prefill (load only ever makes one slower).
    assert min(ttft_s[1:]) > ttft_s[0] / 10, ttft_s


@pytest.mark.model
def test_cost_override_flags_price_every_local_request(local_run):
    _, manifest, records, _, _ = local_run
    for name in ("smol",):
        params = manifest["models"][name]["local_cost"]
        assert (params["electricity_usd_per_kwh"], params["pue"], params["hardware_usd_per_hour"],
                params["utilisation"]) == (0.4, 1.5, 0.9, 0.25)
        assert set(params["basis"].values()) == {"command line"}
    for record in records:
        joules = sum(reading["j"] for reading in record["energy"]["readings"])
        by_hand = joules / 3.6e6 * 0.4 * 1.5 + 0.9 / 0.25 * (record["end_offset_ns"] / 1e9) / 3600
        assert record["cost_usd"] == pytest.approx(by_hand, rel=1e-9)


@pytest.mark.model
def test_break_even_end_to_end(local_run):
    proc, manifest, records, report, run_dir = local_run
    from harness.report.data import load_report_data

    pairs = {(r["local_model"], r["api_model"]): r for r in load_report_data([run_dir]).break_even.to_dict("records")}
    measured, projected = pairs[("smol", "fake-api")], pairs[("smol", "gpt-5-mini")]
    # By hand: the API costs (20 x 1000 + 5 x 2000) / 1e6 = $0.03 a task. Local, at $0.4/kWh x PUE 1.5 per
    # joule, holds $0.9/h of hardware and its idle power all day and adds each task's energy above idle.
    energy_j = sum(sum(x["j"] for x in r["energy"]["readings"]) for r in records) / len(records)
    task_s = sum(r["end_offset_ns"] / 1e9 for r in records) / len(records)
    idle_w = sum(x["w"] for x in manifest["models"]["smol"]["idle"]["readings"])
    usd_per_j = 0.4 * 1.5 / 3.6e6
    n_star = (24 * 0.9 + idle_w * 86400 * usd_per_j) / (0.03 - (energy_j - idle_w * task_s) * usd_per_j)
    assert measured["break_even_tasks_per_day"] == pytest.approx(n_star, rel=2e-3), measured
    assert measured["verdict"] == "local cheaper above this volume" and measured["api_cost_basis"] == "measured"
    assert projected["api_cost_basis"] == "projected"
    # the terminal shows the same volume in the break-even matrix (compact: three significant digits)
    assert "break-even" in proc.stdout.lower() and "gpt-5-mini*" in proc.stdout
    # The report: the chart draws both APIs (the projected one dashed) and the table has both pairs.
    assert "fake-api (API)" in report and "gpt-5-mini (API, projected)" in report
    assert "<td class='l'>smol</td><td class='l'>fake-api</td>" in report
    assert "<tr class='projected'><td class='l'>smol</td><td class='l'>gpt-5-mini*</td>" in report
