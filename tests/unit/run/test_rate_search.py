"""The open-loop capacity search (`capacity:rate`): its levels, when it stops, the capacity rate and the knee,
driven by a model of an engine with a service rate (no server)."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.execution.capacity_search import CapacitySearch, parse_capacity_profile
from harness.execution.rate_search import RateSearch, rate_level
from harness.execution.run_spec import build_spec, capacity_search_for


def _records(e2e_s: list[float], rate_per_s: float | None, failed: int = 0) -> list[dict]:
    """A request per E2E of `e2e_s`, 4 streamed tokens each, scheduled every 1/rate s (open loop)."""
    n = len(e2e_s)
    return [{"chunk_offsets_ns": [int(e * f * 1e9) for f in (0.25, 0.5, 0.75, 1.0)], "chunk_chars": [1, 1, 1, 1],
             "end_offset_ns": int(e * 1e9), "input_tokens": 10, "output_tokens": 4, "output_tokens_source": "runtime",
             "error": {"type": "X"} if i >= n - failed else None,
             **({"scheduled_offset_s": i / rate_per_s} if rate_per_s else {})} for i, e in enumerate(e2e_s)]


def _engine(capacity_per_s: float, lone_e2e_s: float):
    """An engine serving up to `capacity_per_s` requests/s, first come first served: a request starts when it
    arrives or when the engine has room (i / capacity), and takes `lone_e2e_s`, stretched as the engine fills
    (1 / (1 - 0.9 load)). Returns (wall s, each request's E2E s)."""
    def serve(level, n):
        if level.rate_per_s is None:  # the probe: one at a time
            return n * lone_e2e_s, [lone_e2e_s] * n
        service_s = lone_e2e_s / (1 - 0.9 * min(level.rate_per_s / capacity_per_s, 1.0))
        arrivals = [i / level.rate_per_s for i in range(n)]
        finish = [max(a, i / capacity_per_s) + service_s for i, a in enumerate(arrivals)]
        return max(finish), [f - a for f, a in zip(finish, arrivals)]
    return serve


def _run(search: RateSearch, n: int, serve) -> list[str]:
    seen = []
    for level in search.levels(n):
        wall_s, e2e_s = serve(level, n)
        seen.append(level.name)
        search.observe(level, {"wall_s": wall_s}, _records(e2e_s, level.rate_per_s))
    return seen


def test_the_profile_names_its_mode_and_bad_forms_name_the_flag():
    assert parse_capacity_profile("capacity") == ("concurrency", 90, 64)
    assert parse_capacity_profile("capacity:rate") == ("rate", 90, 1024.0)
    assert parse_capacity_profile("capacity:rate:p99:50.5") == ("rate", 99, 50.5)
    assert isinstance(capacity_search_for("capacity:rate:20", {}), RateSearch)
    assert isinstance(capacity_search_for("capacity:p99:16", {}), CapacitySearch)
    assert capacity_search_for("poisson:3", {}) is None
    for bad in ("capacity:rate:0", "capacity:rate:fast", "capacity:rate:p42", "capacity:rate:8:p90",
                "capacity:rate:8:9", "capacity:2.5"):
        with pytest.raises(InputError, match=r"^--profile capacity.*capacity:rate\[:p50"):
            build_spec({"profile": bad})


def test_doubles_from_the_lone_rate_until_it_falls_behind_then_bisects():
    # one at a time: 0.5 s a request (2 req/s); the engine serves 20 req/s at most
    search = RateSearch({}, 90, 1024.0)
    seen = _run(search, 200, _engine(20.0, 0.5))
    assert seen[:5] == ["concurrent:1", "poisson:2", "poisson:4", "poisson:8", "poisson:16"]
    assert seen[5] == "poisson:32" and "fell behind" in search.stopped
    bisected = [float(name.split(":")[1]) for name in seen[6:]]
    assert len(bisected) == 3 and all(16 < rate < 32 for rate in bisected)  # bisected between 16 and 32
    result = search.result()
    assert result["mode"] == "rate" and 16.0 <= result["capacity_rate_per_s"] <= 24.0
    assert result["capacity_level"] == f"poisson:{result['capacity_rate_per_s']:g}"
    assert result["capacity_tasks_per_day"] == result["capacity_rate_per_s"] * 86400
    # 30 % or more above what the engine serves, a level falls behind; at 16 (80 %) it keeps up
    assert all(not r["keeps_up"] for r in result["levels"] if (r["rate_per_s"] or 0) >= 26)
    assert all(r["keeps_up"] for r in result["levels"] if (r["rate_per_s"] or 0) <= 16)
    assert result["knee_level"] == "poisson:8"  # E2E p90 beyond 1.5 x the lightest rate's from 16 req/s


def test_the_slo_caps_the_rate_below_what_the_engine_keeps_up_with():
    search = RateSearch({"e2e_s": 1.0}, 90, 1024.0)  # E2E rises past 1 s from about 11 req/s
    _run(search, 200, _engine(20.0, 0.5))
    result = search.result()
    assert "missed the SLO" in result["stopped"]
    assert 8.0 <= result["capacity_rate_per_s"] < 12.0
    chosen = next(r for r in result["levels"] if r["level"] == result["capacity_level"])
    assert chosen["met"] and chosen["keeps_up"] and chosen["e2e_p90_s"] <= 1.0
    assert result["knee_level"] == "poisson:8"


def test_a_probe_missing_the_slo_ends_the_search_with_no_capacity():
    search = RateSearch({"ttft_s": 0.01}, 90, 64.0)
    assert _run(search, 20, _engine(20.0, 0.5)) == ["concurrent:1"]
    assert search.result()["capacity_level"] is None and "no arrival rate" in search.stopped


def test_the_highest_rate_bounds_the_search_and_failures_miss_the_slo():
    search = RateSearch({}, 90, 5.0)
    assert _run(search, 100, _engine(1000.0, 0.1)) == ["concurrent:1", "poisson:5"]
    assert "highest rate searched" in search.stopped and search.result()["capacity_rate_per_s"] == 5.0
    failing = RateSearch({}, 90, 64.0)
    levels = failing.levels(10)
    failing.observe(next(levels), {"wall_s": 1.0}, _records([0.1] * 10, None))
    level = next(levels)
    failing.observe(level, {"wall_s": 1.0}, _records([0.1] * 10, level.rate_per_s, failed=1))
    assert failing.measured[level.name]["met"] is False
    assert rate_level(12.3456).name == "poisson:12.3"
