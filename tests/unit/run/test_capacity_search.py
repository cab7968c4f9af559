"""The capacity search: which levels it runs, when it stops, which level it calls the capacity and the knee."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.execution.capacity_search import CapacitySearch, parse_capacity_profile


def _records(n: int, e2e_s: float, failed: int = 0) -> list[dict]:
    """`n` finished requests of 4 streamed tokens ending at `e2e_s` (the last `failed` of them failed)."""
    ok = {"chunk_offsets_ns": [int(e2e_s * 0.25e9), int(e2e_s * 0.5e9), int(e2e_s * 0.75e9), int(e2e_s * 1e9)],
          "chunk_chars": [1, 1, 1, 1], "end_offset_ns": int(e2e_s * 1e9), "input_tokens": 10, "output_tokens": 4,
          "output_tokens_source": "runtime", "error": None}
    return [dict(ok, error={"type": "X"} if i >= n - failed else None) for i in range(n)]


def _run(search: CapacitySearch, n_requests: int, serve) -> list[int]:
    """Drive the search against a model of the engine: `serve(c)` -> (requests/s, e2e seconds) at concurrency c."""
    seen = []
    for level in search.levels(n_requests):
        rate, e2e_s = serve(level.concurrency)
        seen.append(level.concurrency)
        search.observe(level, {"wall_s": n_requests / rate}, _records(n_requests, e2e_s))
    return seen


def test_profile_parses_percentile_and_bound():
    assert parse_capacity_profile("capacity") == ("concurrency", 90, 64)
    assert parse_capacity_profile("capacity:p99:16") == ("concurrency", 99, 16)
    assert parse_capacity_profile("sweep:1,2") is None
    with pytest.raises(InputError, match="capacity"):
        parse_capacity_profile("capacity:p42")


def test_doubles_until_the_slo_is_missed_then_bisects():
    # throughput grows with concurrency up to 8 in flight; latency (E2E) = c x 0.1 s
    search = CapacitySearch({"e2e_s": 1.25}, 90, 64)
    seen = _run(search, 64, lambda c: (min(c, 8) * 10.0, c * 0.1))
    assert seen == [1, 2, 4, 8, 16, 12, 14]  # 16 misses 1.25 s; then bisected: 12 meets it, 14 misses
    result = search.result()
    assert result["capacity_level"] == "concurrent:8"  # 12 meets the SLO but serves no more than 8
    assert result["capacity_tasks_per_day"] == pytest.approx(80.0 * 86400)
    assert result["knee_level"] == "concurrent:8"
    assert "missed the SLO" in result["stopped"]


def test_stops_when_throughput_saturates_and_without_slo_takes_the_busiest():
    search = CapacitySearch({}, 90, 64)
    seen = _run(search, 32, lambda c: (min(c, 4) * 5.0, 0.1))
    assert seen == [1, 2, 4, 8]
    result = search.result()
    assert result["capacity_level"] == "concurrent:4"  # 8 serves no more: the lighter level is kept
    assert result["knee_level"] == "concurrent:4"
    assert "saturated" in result["stopped"]


def test_a_level_with_failures_misses_the_slo_and_none_met_gives_no_capacity():
    search = CapacitySearch({"e2e_s": 0.05}, 99, 8)
    assert _run(search, 8, lambda c: (c * 1.0, 0.1)) == [1]
    assert search.result()["capacity_level"] is None
    failing = CapacitySearch({"e2e_s": 10.0}, 90, 8)
    level = next(failing.levels(8))
    failing.observe(level, {"wall_s": 1.0}, _records(8, 0.1, failed=1))
    assert failing.measured[1]["met"] is False and failing.measured[1]["n_failed"] == 1
