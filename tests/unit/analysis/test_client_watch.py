"""The load generator watching itself: event-loop lag, CPU share and coalesced chunks flag a level."""

from __future__ import annotations

import asyncio
import time

from harness.analysis.load_levels import client_watch, level_summary
from harness.analysis.model_summary import records_frame
from harness.execution.loadgen import lag_stats, watched


def _record(offsets: list[int]) -> dict:
    return {"model": "m", "task_id": "t", "repetition": 0, "level": "concurrent:2", "chunk_offsets_ns": offsets,
            "chunk_chars": [1] * len(offsets), "end_offset_ns": offsets[-1], "input_tokens": 5,
            "output_tokens": len(offsets), "output_tokens_source": "runtime", "error": None}


def test_a_blocked_event_loop_shows_as_lag():
    lags: list[float] = []

    async def blocking_work() -> None:
        await asyncio.sleep(0.05)
        time.sleep(0.08)  # a callback that holds the loop: every timer due meanwhile fires late
        await asyncio.sleep(0.05)

    asyncio.run(watched(blocking_work(), lags))
    stats = lag_stats(lags)["loop_lag_ms"]
    assert stats["max"] >= 60 and stats["n"] >= 2
    assert lag_stats([]) == {"loop_lag_ms": None}


def test_a_level_is_flagged_by_lag_cpu_or_coalesced_chunks_and_not_otherwise():
    quiet = {"wall_s": 10.0, "client_cpu_s": 1.0, "client_processes": 1, "loop_lag_ms": {"p99": 1.0}}
    busy = {"wall_s": 10.0, "client_cpu_s": 9.5, "client_processes": 1, "loop_lag_ms": {"p99": 40.0}}
    spread = records_frame([_record([1, 2, 3, 4]), _record([5, 6, 7, 8])])
    clumped = records_frame([_record([1, 1, 1, 4]), _record([5, 6, 6, 6])])
    assert client_watch(spread, quiet, 10.0)["client_flag"] is None
    watch = client_watch(clumped, busy, 10.0)
    assert watch["coalesced_share"] == 4 / 6 and watch["client_cpu_share"] == 0.95
    assert watch["client_flag"] == ("client may have distorted this level: event loop p99 lag 40.0 ms, "
                                    "client CPU 95% of a core, 67% of chunks coalesced")
    # two client processes share the CPU seconds
    assert client_watch(spread, {**busy, "client_processes": 2, "loop_lag_ms": None}, 10.0)["client_cpu_share"] == 0.475
    manifest = {"models": {"m": {"levels": {"concurrent:2": busy}}}}
    row = level_summary(clumped, manifest).iloc[0]
    assert row["loop_lag_p99_ms"] == 40.0 and row["client_flag"].startswith("client may have distorted")
