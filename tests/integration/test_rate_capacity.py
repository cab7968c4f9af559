"""`--profile capacity:rate`: the open-loop capacity search through the real CLI, against a local server that
serves two requests at a time (a capacity of 2 / 0.1 s = 20 requests/s)."""

from __future__ import annotations

import json

import pytest

from harness.store.records import read_records
from tests.support.runs import load_suite, run_cli, write


def test_the_rate_search_finds_what_the_server_keeps_up_with_and_the_break_even_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the API is skipped: its cost is projected
    # launched by the harness (so that its process's CPU time gives the energy the break-even needs)
    models = write(tmp_path / "models.yaml", """
        models:
          - {name: served, kind: openai, base_url: 'http://127.0.0.1:{port}/v1', model: m, self_hosted: true,
             max_attempts: 1, cost: {usd_per_hour: 2.0, electricity_usd_per_kwh: 0.2},
             launch: {command: ['{python}', '-m', 'tests.support.fake_api', '{port}', '--delay-s', '0.1',
                                '--slots', '2', '--event-gap-s', '0.002'], timeout_s: 60}}
          - {name: api, kind: openai, provider: openai, model: gpt-5.4-nano}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(load_suite(tmp_path, 60)), "--profile",
                   "capacity:rate:p90:200", "--slo", "e2e_ms=3000", "--out", str(tmp_path / "out"), "--no-report",
                   "--cpu-w-per-core", "10", env_columns=250)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["settings"]["capacity_search"] == {"mode": "rate", "percentile": 90, "max_rate_per_s": 200.0}
    entry = manifest["models"]["served"]
    search = entry["capacity_search"]
    names = [row["level"] for row in search["levels"]]
    assert names[0] == "concurrent:1" and all(name.startswith("poisson:") for name in names[1:])
    assert set(entry["levels"]) == set(names)
    # one at a time the server answers ~9 requests/s; the search doubles from there and falls behind past 20
    assert "fell behind" in search["stopped"] or "missed the SLO" in search["stopped"]
    assert search["mode"] == "rate" and 8.0 <= search["capacity_rate_per_s"] <= 26.0, search
    chosen = next(row for row in search["levels"] if row["level"] == search["capacity_level"])
    assert chosen["met"] and chosen["keeps_up"] and search["capacity_rate_per_s"] == chosen["offered_per_s"]
    assert chosen["offered_per_s"] == pytest.approx(chosen["rate_per_s"], rel=0.3)  # a Poisson draw of 60
    assert any(not row["keeps_up"] for row in search["levels"] if row["rate_per_s"])
    records = read_records(run_dir / "records.jsonl")
    assert {r["level"] for r in records} == set(names) and len(records) == 60 * len(names)
    assert all(r["scheduled_offset_s"] is not None for r in records if r["level"].startswith("poisson:"))
    text = " ".join(proc.stdout.split())
    rate = f"{search['capacity_rate_per_s']:.3g}"
    assert f"searched: rate {rate} req/s at p90 under SLO E2E ≤ 3000 ms" in text, proc.stdout
    assert f"{search['capacity_rate_per_s'] * 86400:,.0f}"[:2] in text  # the capacity per day it priced


@pytest.mark.parametrize("profile", ["capacity:rate:0", "capacity:rate:p42", "capacity:rate:x"])
def test_a_bad_rate_search_profile_is_one_line_naming_the_flag(tmp_path, profile):
    proc = run_cli("run", "--models", str(write(tmp_path / "models.yaml", "models: []\n")), "--profile", profile,
                   "--out", str(tmp_path / "out"), "--no-report", timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"--profile {profile}: expected capacity[:p50|p90|p95|p99][:MAX CONCURRENCY] or capacity:rate" in proc.stderr
