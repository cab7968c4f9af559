"""The client grows until it is not the bottleneck, through the real CLI: a level flagged by the self-watch
(`--client-watch-lag-ms` set so low that any lag flags it) is run again with twice the client processes; the
superseded attempt stays in records.jsonl and the manifest, and no aggregate counts it."""

from __future__ import annotations

import json

import pytest

from harness.host import usable_cores
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import fake_openai_models, load_suite, run_cli

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}

pytestmark = pytest.mark.skipif(usable_cores() < 2, reason="growing the client needs two cores for two processes")


def test_a_flagged_level_is_run_again_with_more_client_processes_and_counted_once(tmp_path):
    # the first attempt's first request fails; the re-run's all succeed: the run ends with no failure counted
    with FakeAPI([{"do": "status", "status": 500}], usage=USAGE, delay_s=0.2, event_gap_s=0.002) as api:
        proc = run_cli("run", "--models", str(fake_openai_models(tmp_path, f"{api.base_url}/v1")), "--suite",
                       str(load_suite(tmp_path, 16)), "--profile", "concurrent:4", "--client-watch-lag-ms", "0.001",
                       "--out", str(tmp_path / "out"), "--no-report", env_columns=250)
        sent = len(api.requests)
    assert proc.returncode == 0, proc.stderr
    assert sent == 32  # every request twice: the first attempt and the re-run
    (run_dir,) = (tmp_path / "out").iterdir()
    lines = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert [r.get("attempt", 1) for r in lines].count(1) == 16 and [r.get("attempt") for r in lines].count(2) == 16
    assert sum(r["error"] is not None for r in lines) == 1  # kept in the file, superseded
    records = read_records(run_dir / "records.jsonl")  # what every aggregate reads: the accepted attempt
    assert len(records) == 16 and all(r["attempt"] == 2 and r["error"] is None for r in records)
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(16))
    assert {r["client"] for r in records} == {0, 1}  # the re-run was split between two client processes
    level = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["concurrent:4"]
    assert level["attempt"] == 2 and level["client_processes"] == 2 and len(level["clients"]) == 2
    assert level["watch_limits"]["loop_lag_p99_ms"] == 0.001
    (superseded,) = level["superseded"]
    assert superseded["attempt"] == 1 and superseded["client_processes"] == 1 and superseded["n_requests"] == 16
    assert superseded["reasons"][0].startswith("event loop p99 lag")
    assert level["client_grown"]["to"] == 2 and level["client_grown"]["after"].startswith("event loop p99 lag")
    assert level["loop_lag_ms"]["n"] > 0  # the client processes measured their own loops' lag
    text = " ".join(proc.stdout.split())
    assert "client grown to 2 processes after event loop p99 lag" in text, proc.stdout
    # still flagged with so low a limit: the flag gives both attempts' reasons
    assert "(attempt 2, 2 processes; earlier attempt 1 (1 process): event loop p99 lag" in text, proc.stdout
    assert "100% correct (16/16" in text, proc.stdout  # accuracy counts each task once
    summary = run_cli("summary", str(run_dir), "--full", env_columns=250)
    assert summary.returncode == 0, summary.stderr
    assert "16/16" in summary.stdout and "32/32" not in summary.stdout


def test_fixed_client_processes_are_never_grown(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.1, event_gap_s=0.002) as api:
        proc = run_cli("run", "--models", str(fake_openai_models(tmp_path, f"{api.base_url}/v1")), "--suite",
                       str(load_suite(tmp_path, 8)), "--profile", "concurrent:2", "--client-watch-lag-ms", "0.001",
                       "--client-processes", "1", "--out", str(tmp_path / "out"), "--no-report")
        sent = len(api.requests)
    assert proc.returncode == 0, proc.stderr
    assert sent == 8
    (run_dir,) = (tmp_path / "out").iterdir()
    level = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["concurrent:2"]
    assert "superseded" not in level and level["client_not_grown"] == "--client-processes 1 fixes the client processes"


def test_a_re_run_cut_short_is_resumed_in_its_own_attempt(tmp_path):
    with FakeAPI(usage=USAGE, delay_s=0.1, event_gap_s=0.002) as api:
        models = fake_openai_models(tmp_path, f"{api.base_url}/v1")
        proc = run_cli("run", "--models", str(models), "--suite", str(load_suite(tmp_path, 8)), "--profile",
                       "concurrent:2", "--client-watch-lag-ms", "0.001", "--out", str(tmp_path / "out"), "--no-report")
        assert proc.returncode == 0, proc.stderr
        (run_dir,) = (tmp_path / "out").iterdir()
        # as if the run had been killed after the re-run's first five requests
        path = run_dir / "records.jsonl"
        lines = path.read_text().splitlines()
        assert len(lines) == 16
        path.write_text("\n".join(lines[:13]) + "\n")
        manifest = json.loads((run_dir / "run.json").read_text())
        manifest["status"] = "interrupted"
        (run_dir / "run.json").write_text(json.dumps(manifest))
        before = len(api.requests)
        resumed = run_cli("run", "--resume", str(run_dir), "--no-report")
        sent = len(api.requests) - before
    assert resumed.returncode == 0, resumed.stderr
    assert sent == 3  # the three the re-run still owed; not the eight of the superseded attempt, not a third run
    records = read_records(path)
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(8))
    assert all(r["attempt"] == 2 for r in records)
    level = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["concurrent:2"]
    assert level["attempt"] == 2 and level["superseded"][0]["attempt"] == 1 and level["client_grown"]["to"] == 2
    assert level["client_processes"] == 2 and {r["client"] for r in records[-3:]} == {0, 1}  # as it had grown
