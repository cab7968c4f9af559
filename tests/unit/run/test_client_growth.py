"""The client grows until it is not the bottleneck: when a flagged level is run again and with how many client
processes, and that a superseded attempt is kept in the file but counted by nothing."""

from __future__ import annotations

import json

from harness.analysis.load_levels import WatchLimits, level_summary
from harness.analysis.model_summary import records_frame
from harness.execution.client_growth import client_cores, grown_clients, level_watch
from harness.execution.resume import prepare_resume
from harness.store.records import accepted_attempts, read_records


def _record(task: str, offsets: list[int], attempt: int | None = None, level: str = "concurrent:4") -> dict:
    record = {"model": "m", "suite": "s", "task_id": task, "repetition": 0, "level": level,
              "chunk_offsets_ns": offsets, "chunk_chars": [1] * len(offsets), "end_offset_ns": offsets[-1],
              "input_tokens": 5, "output_tokens": len(offsets), "output_tokens_source": "runtime", "error": None,
              "verdict": "correct", "cost_usd": 0.001}
    return {**record, "attempt": attempt} if attempt else record


def test_the_client_doubles_up_to_its_cores_less_half_for_a_server_launched_here():
    assert client_cores(8, server_launched_here=False) == 8
    assert client_cores(8, server_launched_here=True) == 4
    assert client_cores(2, server_launched_here=True) == 1 and client_cores(1, True) == 1
    assert grown_clients(1, 8) == 2 and grown_clients(3, 8) == 6 and grown_clients(4, 6) == 6
    assert grown_clients(4, 4) is None and grown_clients(2, 1) is None  # no more cores: the level stays flagged


def test_the_watch_reads_lag_cpu_and_coalesced_chunks_against_the_levels_limits():
    stats = {"wall_s": 2.0, "client_cpu_s": 0.4, "client_processes": 2, "loop_lag_ms": {"p99": 3.0}}
    spread = [_record("a", [1, 2, 3]), _record("b", [4, 5, 6])]
    quiet = level_watch(stats, spread, WatchLimits())
    assert quiet["reasons"] == [] and quiet["client_cpu_share"] == 0.1 and quiet["coalesced_share"] == 0.0
    strict = level_watch(stats, spread, WatchLimits(loop_lag_p99_ms=1.0))  # --client-watch-lag-ms 1
    assert strict["reasons"] == ["event loop p99 lag 3.0 ms"]
    clumped = level_watch({**stats, "client_cpu_s": 3.6}, [_record("a", [1, 1, 1])], WatchLimits())
    assert clumped["reasons"] == ["client CPU 90% of a core", "100% of chunks coalesced"]


def test_only_a_levels_latest_attempt_counts():
    first = [_record(t, [1, 2, 3]) for t in ("a", "b", "c")]
    second = [_record(t, [1, 5, 9], attempt=2) for t in ("a", "b", "c")]
    other = [_record("a", [1, 2], level="concurrent:1")]
    kept = accepted_attempts(first + other + second)
    assert kept == other + second
    assert accepted_attempts(first + other) == first + other  # no re-run: every record counts


def test_a_superseded_attempt_is_in_the_file_but_in_no_aggregate_and_resume_does_not_count_it(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = [_record(t, [1, 1, 1]) for t in ("a", "b", "c", "d")]  # flagged: every chunk coalesced
    second = [_record(t, [1, 5, 9], attempt=2) for t in ("a", "b")]  # the re-run, interrupted after two
    lines = [json.dumps(r) for r in first + second]
    (run_dir / "records.jsonl").write_text("\n".join(lines) + "\n")
    stats = {"wall_s": 1.0, "client_cpu_s": 0.1, "client_processes": 2, "attempt": 2, "concurrency": 4,
             "watch_limits": WatchLimits().to_record(),
             "superseded": [{"attempt": 1, "client_processes": 1, "wall_s": 1.0, "n_requests": 4,
                             "reasons": ["100% of chunks coalesced"]}],
             "client_grown": {"from": 1, "to": 2, "after": "100% of chunks coalesced"}}
    manifest = {"run_id": "r", "models_file": "models.yaml", "suites": [{"name": "s", "source": "x", "sha256": "0"}],
                "settings": {"models": ["m"], "repeat": 1}, "models": {"m": {"levels": {"concurrent:4": stats}}}}
    (run_dir / "run.json").write_text(json.dumps(manifest))
    records = read_records(run_dir / "records.jsonl")
    assert [(r["task_id"], r.get("attempt")) for r in records] == [("a", 2), ("b", 2)]
    assert len((run_dir / "records.jsonl").read_text().splitlines()) == 6  # nothing rewritten or dropped
    row = level_summary(records_frame(records), manifest).iloc[0]
    assert row["n_requests"] == 2 and row["request_throughput_per_s"] == 2.0  # the accepted attempt only
    assert row["client_flag"] is None and row["client_grown"] == "client grown to 2 processes after 100% of " \
        "chunks coalesced"
    state = prepare_resume(run_dir, retry_failed=False)
    try:  # c and d were sent only in the superseded attempt: they are still owed
        assert {key[2] for key in state.done} == {"a", "b"}
    finally:
        state.lock.release()


def test_still_flagged_after_the_re_run_the_flag_gives_both_attempts_reasons():
    records = [_record(t, [1, 1, 1], attempt=2) for t in ("a", "b")]
    stats = {"wall_s": 1.0, "client_cpu_s": 0.1, "client_processes": 2, "attempt": 2,
             "superseded": [{"attempt": 1, "client_processes": 1, "reasons": ["event loop p99 lag 30.0 ms"]}],
             "client_grown": {"from": 1, "to": 2, "after": "event loop p99 lag 30.0 ms"}}
    row = level_summary(records_frame(records), {"models": {"m": {"levels": {"concurrent:4": stats}}}}).iloc[0]
    assert row["client_flag"] == ("client may have distorted this level: 100% of chunks coalesced (attempt 2, "
                                  "2 processes; earlier attempt 1 (1 process): event loop p99 lag 30.0 ms)")


def test_only_a_server_endpoints_level_with_harness_chosen_clients_is_run_again(monkeypatch):
    from types import SimpleNamespace

    from harness.execution import level_attempts

    monkeypatch.setattr(level_attempts, "usable_cores", lambda: 8)

    def session(kind: str = "openai", fixed: int | None = None, ray: object = None, launched: bool = False):
        return SimpleNamespace(cfg=SimpleNamespace(kind=kind), server=object() if launched else None,
                               context=SimpleNamespace(client_processes=fixed, ray=ray))

    assert level_attempts._grow_to(session(), True, 1) == 2
    assert level_attempts._grow_to(session(launched=True), True, 2) == 4
    assert level_attempts._grow_to(session(launched=True), True, 4) is None
    assert "already use the 4 cores the client may use beside the server" in level_attempts._why_not(
        session(launched=True), 4)
    assert level_attempts._grow_to(session(), False, 1) is None  # second attempt, or a level resumed part-way
    assert level_attempts._grow_to(session("llama_cpp"), True, 1) is None
    assert "in-process" in level_attempts._why_not(session("transformers"), 1)
    assert level_attempts._grow_to(session(fixed=1), True, 1) is None
    assert "--client-processes 1" in level_attempts._why_not(session(fixed=1), 1)
    assert level_attempts._grow_to(session(ray=object()), True, 1) is None


def test_coalesced_chunks_alone_flag_a_level_but_do_not_call_for_more_clients():
    stats = {"wall_s": 2.0, "client_cpu_s": 0.2, "client_processes": 1, "loop_lag_ms": {"p99": 1.0}}
    watch = level_watch(stats, [_record("a", [1, 1, 1])], WatchLimits())
    assert watch["reasons"] == ["100% of chunks coalesced"] and watch["client_bound"] == []
    late = level_watch({**stats, "loop_lag_ms": {"p99": 25.0}}, [_record("a", [1, 1, 1])], WatchLimits())
    assert late["client_bound"] == ["event loop p99 lag 25.0 ms"]
