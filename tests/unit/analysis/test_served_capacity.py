"""Which capacity the break-even uses: a searched level, the busiest measured level meeting the SLO, or batch 1."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis.served_capacity import served_capacity


def _levels() -> pd.DataFrame:
    rows = [("concurrent:1", 1, 2.0, 0.5, 30.0), ("concurrent:2", 2, 3.5, 0.9, 20.0), ("concurrent:4", 4, 5.0, 1.6, 15.0)]
    return pd.DataFrame([{"model": "m", "level": level, "concurrency": c, "request_throughput_per_s": rate,
                          "ttft_p90_s": 0.1, "itl_p90_s": 0.01, "e2e_p90_s": e2e, "energy_j_per_task": j}
                         for level, c, rate, e2e, j in rows])


def test_sweep_levels_give_the_busiest_level_meeting_the_slo():
    got = served_capacity("m", {}, _levels(), {"e2e_s": 1.0}, e2e_mean_s=0.4, energy_j_per_task=40.0)
    assert (got.level, got.tasks_per_day, got.task_s, got.energy_j_per_task) == \
        ("concurrent:2", pytest.approx(3.5 * 86400), pytest.approx(1 / 3.5), 20.0)
    assert "p90 E2E ≤ 1000 ms" in got.basis
    unbounded = served_capacity("m", {}, _levels(), {}, 0.4, 40.0)
    assert unbounded.level == "concurrent:4" and "no SLO" in unbounded.basis


def test_a_search_decides_and_nothing_measured_is_batch_one():
    entry = {"capacity_search": {"percentile": 99, "slos_ms": {"e2e_s": 2000.0}, "capacity_level": "concurrent:4"}}
    got = served_capacity("m", entry, _levels(), {"e2e_s": 2.0}, 0.4, 40.0)
    assert got.level == "concurrent:4" and got.basis.startswith("searched") and "p99 E2E ≤ 2000 ms" in got.basis
    none_met = {"capacity_search": {"percentile": 90, "slos_ms": {"e2e_s": 100.0}, "capacity_level": None}}
    assert "no level met" in served_capacity("m", none_met, _levels(), {}, 0.4, 40.0).basis
    alone = served_capacity("m", {}, None, {}, e2e_mean_s=0.5, energy_j_per_task=40.0)
    assert (alone.level, alone.tasks_per_day, alone.energy_j_per_task) == (None, 172800.0, 40.0)
    assert alone.basis.startswith("batch 1")


def test_an_open_loop_search_prices_its_capacity_rate_and_says_so():
    levels = pd.concat([_levels(), pd.DataFrame([
        {"model": "m", "level": "poisson:6", "concurrency": None, "request_throughput_per_s": 5.2, "ttft_p90_s": 0.1,
         "itl_p90_s": 0.01, "e2e_p90_s": 0.8, "energy_j_per_task": 12.0}])], ignore_index=True)
    search = {"mode": "rate", "percentile": 90, "slos_ms": {"ttft_s": 500.0, "e2e_s": 2000.0},
              "capacity_level": "poisson:6", "capacity_rate_per_s": 6.0}
    got = served_capacity("m", {"capacity_search": search}, levels, {}, 0.4, 40.0)
    # the rate it sustained, not the level's finished requests over its wall time (which includes the tail)
    assert (got.level, got.tasks_per_day, got.task_s, got.energy_j_per_task) == \
        ("poisson:6", pytest.approx(6.0 * 86400), pytest.approx(1 / 6), 12.0)
    assert got.basis.startswith("searched: rate 6 req/s at p90 under SLO TTFT ≤ 500 ms, E2E ≤ 2000 ms")
    unbounded = served_capacity("m", {"capacity_search": {**search, "slos_ms": {}}}, levels, {}, 0.4, 40.0)
    assert unbounded.basis.startswith("searched: rate 6 req/s") and "no SLO given" in unbounded.basis
    none = served_capacity("m", {"capacity_search": {**search, "capacity_level": None}}, levels, {}, 0.4, 40.0)
    assert none.level == "concurrent:1" and none.basis.startswith("searched: no arrival rate met p90 TTFT ≤ 500 ms")
