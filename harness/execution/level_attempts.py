"""Running a model's load levels one after another, each once — or twice, when its client was the bottleneck.

A level runs on this process's asyncio client, or split between client processes (client_processes.py) or
Ray client actors. Each run of a level (an *attempt*) has its own energy window and, where the server
exposes them, Prometheus counters. After a server endpoint's level, the client reads its own watch
(client_growth.py); when it is flagged and the harness chose the number of client processes, the level is
run again with twice as many (at most the client's cores), its records tagged `attempt: 2`. The manifest's
level entry then holds the accepted attempt's figures, `superseded` (the earlier attempt's figures and
reasons) and `client_grown`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from harness.analysis.load_levels import WatchLimits
from harness.backends.api_common import api_key
from harness.execution.client_growth import MAX_ATTEMPTS, client_cores, grown_clients, level_watch
from harness.execution.loadgen import Level, run_level
from harness.execution.request import RequestStopped, execute_async
from harness.execution.serve import scrape_metrics
from harness.host import usable_cores
from harness.suites import Task

IN_PROCESS_KINDS = ("llama_cpp", "transformers")  # a load level drives the model inside this process
SUPERSEDED_KEYS = ("started_at", "client_processes", "wall_s", "client_cpu_s", "loop_lag_ms", "n_requests",
                   "energy_window")


def run_levels(session: Any, levels: Iterable[Level], jobs_for: Callable[[str], list[Any]],
               stop: Callable[[], bool]) -> Iterator[dict[str, Any]]:
    """Run `session`'s load levels one after another (a ModelSession, loaded), yielding records as they
    finish; a level whose client was flagged may be run once more with more client processes."""
    backend, meter = session._loaded()
    cfg, context = session.cfg, session.context
    loop = asyncio.new_event_loop()
    levels_entry = session.entry.setdefault("levels", {})
    key = api_key(cfg) if cfg.kind not in IN_PROCESS_KINDS else None
    limits = WatchLimits(loop_lag_p99_ms=context.watch_lag_ms)
    clients = None  # the client processes (or actors), started by the first level that splits

    async def send(job: tuple[Any, str, int]) -> dict[str, Any] | None:
        (suite, repetition, task), level_name, attempt = job
        record = {**context.base_record(cfg.name, suite, task, repetition), "level": level_name}
        if attempt > 1:
            record["attempt"] = attempt
        prompt = session.prompt_for(task, record)
        try:
            record.update(await execute_async(backend, prompt, session.policy, session._stop))
        except RequestStopped:
            return None
        record["energy"], record["_task"] = None, task
        return record  # checked on the reading thread: a checker must not stall the event loop

    def attempt_records(level: Level, jobs: list[Any], offsets_s: list[float] | None, n_clients: int,
                        attempt: int, stats: dict[str, Any]) -> Iterator[dict[str, Any]]:
        nonlocal clients
        stats["metrics_before"] = scrape_metrics(cfg.base_url, key) if getattr(cfg, "base_url", None) else None
        meter.begin(level.name)
        try:
            if n_clients == 1 and (context.ray is None or cfg.kind in IN_PROCESS_KINDS):
                tagged = [(job, name, attempt) for job, name in jobs]
                for record in run_level(level, tagged, send, loop, stop, stats, offsets_s):
                    yield session._finish(record.pop("_task"), record)
                return
            if clients is None or clients.size < n_clients:
                if clients is not None:
                    clients.close()
                clients = session._start_clients(n_clients)
            for record in session._split_level(level, jobs, offsets_s, n_clients, clients, stop, stats):
                if attempt > 1:
                    record["attempt"] = attempt
                yield record
        finally:
            stats["energy_window"] = meter.end(level.name)
            after = scrape_metrics(cfg.base_url, key) if getattr(cfg, "base_url", None) else None
            before = stats.pop("metrics_before")
            stats["metrics_delta"] = ({k: v - before.get(k, 0.0) for k, v in after.items()
                                       if v != before.get(k, 0.0)} if before is not None and after else None)

    def new_stats(level: Level, n_jobs: int, n_clients: int, attempt: int) -> dict[str, Any]:
        return {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "n_requests": n_jobs,
                "concurrency": level.concurrency, "rate_per_s": level.rate_per_s, "burstiness": level.burstiness,
                "client_processes": n_clients, "watch_limits": limits.to_record(),
                **({"attempt": attempt} if attempt > 1 else {})}

    try:
        for level in levels:
            jobs = [(job, level.name) for job in jobs_for(level.name)]
            if not jobs or stop():
                continue
            offsets_s = None
            if level.concurrency is None and level.rate_per_s is None:  # replay the trace's arrival times
                jobs, offsets_s = trace_schedule(jobs)
            earlier = levels_entry.get(level.name)  # a resumed level: its attempt and history go on
            attempt = (earlier or {}).get("attempt", 1)
            history = {k: earlier[k] for k in ("superseded", "client_grown") if earlier and k in earlier}
            n_clients = session._n_clients(level, len(jobs))
            if history.get("client_grown") and _grow_to(session, True, n_clients) is not None:
                # a grown level resumed goes on with the client processes it had grown to
                n_clients = max(n_clients, int(history["client_grown"]["to"]))
            stats = {**new_stats(level, len(jobs), n_clients, attempt), **history}
            seen: list[dict[str, Any]] = []
            try:
                for record in attempt_records(level, jobs, offsets_s, n_clients, attempt, stats):
                    seen.append(record)
                    yield record
            finally:
                levels_entry[level.name] = stats
            grow_to = _grow_to(session, earlier is None and attempt < MAX_ATTEMPTS, n_clients)
            watch = level_watch(stats, seen, limits)
            if not watch["client_bound"] or grow_to is None or stop():
                if watch["client_bound"] and history.get("superseded") is None and grow_to is None:
                    stats["client_not_grown"] = _why_not(session, n_clients)
                continue
            context.progress.warn(f"{cfg.name} {level.name}: client may have distorted the level "
                                  f"({', '.join(watch['reasons'])}); running it again with {grow_to} client processes")
            superseded = {**{k: stats.get(k) for k in SUPERSEDED_KEYS}, "attempt": attempt, "reasons": watch["reasons"]}
            grown = {"from": n_clients, "to": grow_to, "after": ", ".join(watch["reasons"])}
            retry = {**new_stats(level, len(jobs), grow_to, attempt + 1), "superseded": [superseded],
                     "client_grown": grown}
            n_rerun = 0
            try:
                for record in attempt_records(level, jobs, offsets_s, grow_to, attempt + 1, retry):
                    n_rerun += 1
                    yield record
            finally:
                if n_rerun:  # a re-run stopped before any record leaves the first attempt standing
                    levels_entry[level.name] = retry
    finally:
        if clients is not None:
            clients.close()
        loop.run_until_complete(backend.aclose())
        loop.close()


def _client_cores(session: Any) -> int:
    return client_cores(usable_cores(), session.server is not None)


def _grow_to(session: Any, may_rerun: bool, n_clients: int) -> int | None:
    """The client processes of a re-run, or None: only a server endpoint's level whose client processes the
    harness chose (no --client-processes, no Ray), run whole in this session, the first time."""
    if not may_rerun or session.cfg.kind in IN_PROCESS_KINDS or session.context.client_processes \
            or session.context.ray is not None:
        return None
    return grown_clients(n_clients, _client_cores(session))


def _why_not(session: Any, n_clients: int) -> str:
    """Why a flagged level was not run again with more client processes."""
    if session.cfg.kind in IN_PROCESS_KINDS:
        return "an in-process model's levels run on the in-process client"
    if session.context.client_processes:
        return f"--client-processes {session.context.client_processes} fixes the client processes"
    if session.context.ray is not None:
        return "on Ray, the client actors are one per node"
    cores = _client_cores(session)
    if n_clients >= cores:
        beside = " beside the server the harness launched here" if session.server is not None else ""
        return f"{n_clients} client process{'es' if n_clients > 1 else ''} already use the {cores} core" \
            f"{'s' if cores > 1 else ''} the client may use{beside}"
    return "a level resumed part-way is not run again"


def trace_schedule(jobs: list[tuple[Any, str]]) -> tuple[list[tuple[Any, str]], list[float]]:
    """Jobs in arrival order and their offsets: each task's `at_s`, repetition r shifted by r trace spans."""
    span_s = max(_arrival_s(task) for (_, _, task), _ in jobs) + 1.0

    def offset(item: tuple[Any, str]) -> float:
        (_, repetition, task), _ = item
        return _arrival_s(task) + repetition * span_s

    ordered = sorted(jobs, key=offset)
    return ordered, [offset(item) for item in ordered]


def _arrival_s(task: Task) -> float:
    # a level with neither concurrency nor rate comes only from a trace, whose every task has `at_s`
    assert task.workload is not None and task.workload.at_s is not None, f"task {task.id} has no arrival time"
    return task.workload.at_s
