"""Load profiles for server endpoints, driven by an asyncio load generator.

Profiles (`--profile`):
  synchronous          one request at a time (a closed loop of one)
  concurrent:N         N requests in flight: N workers, each sending its next request as one finishes
  sweep:1,2,4,8        a concurrent level per value, one after another
  poisson:RATE[:B]     an open loop: requests start at RATE per second on average, whether or not earlier
                       ones finished; inter-arrival times are gamma-distributed with shape B (burstiness;
                       1 = Poisson, below 1 burstier), mean 1/RATE, drawn from a fixed seed

Every request of a level is prepared (prompt built, job list fixed) before the level starts, and arrival
times are computed ahead, so the generator does not throttle itself; its own CPU time per level is
recorded, and so is its event loop's lag (a probe that wakes every 10 ms notes how late). The generator runs
on its own event loop thread and hands finished records over as they
complete, so they are written as they finish.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import InputError


@dataclass(frozen=True)
class Level:
    """One load level: a closed loop of `concurrency`, an open loop at `rate_per_s`, or (neither) an open loop
    replaying the arrival times its jobs carry (a workload trace's `at_s`)."""

    name: str
    concurrency: int | None = None
    rate_per_s: float | None = None
    burstiness: float = 1.0


def parse_profile(text: str) -> list[Level]:
    """The levels of a `--profile` value; `InputError` naming the form when it does not parse."""
    kind, _, rest = text.partition(":")
    try:
        if kind == "synchronous" and not rest:
            return [Level("synchronous", concurrency=1)]
        if kind == "concurrent":
            n = int(rest)
            if n >= 1:
                return [Level(f"concurrent:{n}", concurrency=n)]
        if kind == "sweep":
            values = [int(v) for v in rest.split(",")]
            if values and all(v >= 1 for v in values) and len(set(values)) == len(values):
                return [Level(f"concurrent:{v}", concurrency=v) for v in values]
        if kind == "poisson":
            rate_text, _, burst_text = rest.partition(":")
            rate, burstiness = float(rate_text), float(burst_text or 1.0)
            if rate > 0 and burstiness > 0:
                name = f"poisson:{rate:g}" + (f":{burstiness:g}" if burstiness != 1.0 else "")
                return [Level(name, rate_per_s=rate, burstiness=burstiness)]
    except ValueError:
        pass
    raise InputError(f"--profile {text}: expected synchronous, concurrent:N, sweep:1,2,4,8 or poisson:RATE[:BURSTINESS]")


STOP_CHECK_S = 0.05
HANDOFF_S = 0.005  # how long a finished record may wait for others before it goes to the writer


def arrival_offsets_s(n: int, rate_per_s: float, burstiness: float, seed: int = 0) -> np.ndarray:
    """Start times (s from the level's start) of `n` requests: cumulative gamma inter-arrival times."""
    gaps = np.random.default_rng(seed).gamma(shape=burstiness, scale=1.0 / (rate_per_s * burstiness), size=n)
    return np.concatenate([[0.0], np.cumsum(gaps[:-1])])


async def drive(level: Level, jobs: list[Any], send: Callable[[Any], Awaitable[dict | None]],
                deliver: Callable[[dict], None], stop: Callable[[], bool], offsets_s: list[float] | None,
                start_at_s: float | None = None) -> None:
    """Run one level's `jobs` on the running event loop, handing each finished record to `deliver`. An open
    loop's offsets count from `start_at_s` (wall-clock `time.time()`; default now), so that several
    generators sharing one schedule start it together."""
    if level.concurrency is not None:
        pending = iter(jobs)

        async def worker() -> None:
            for job in pending:  # a shared iterator: each job is taken by exactly one worker
                if stop():
                    return
                record = await send(job)
                if record is not None:  # None: stopped while it waited for a retry
                    deliver(record)

        await asyncio.gather(*(worker() for _ in range(min(level.concurrency, len(jobs)))))
        return
    offsets: Sequence[float] | np.ndarray | None = offsets_s
    if offsets is None:
        assert level.rate_per_s is not None, "a level with neither concurrency nor rate replays given offsets"
        offsets = arrival_offsets_s(len(jobs), level.rate_per_s, level.burstiness)
    loop = asyncio.get_running_loop()
    start = loop.time() + (start_at_s - time.time() if start_at_s is not None else 0.0)
    tasks = []

    async def timed(job: Any, scheduled_s: float) -> None:
        record = await send(job)
        if record is not None:
            record["scheduled_offset_s"] = scheduled_s
            deliver(record)

    for job, offset in zip(jobs, offsets):
        # Sliced, so that a stop request between two arrivals is seen at once, not at the next arrival.
        while (delay := start + float(offset) - loop.time()) > 0 and not stop():
            await asyncio.sleep(min(delay, STOP_CHECK_S))
        if stop():
            break
        tasks.append(asyncio.create_task(timed(job, float(offset))))
    await asyncio.gather(*tasks)


def batched(loop: asyncio.AbstractEventLoop, deliver: Callable[[list[Any]], None]
            ) -> tuple[Callable[[Any], None], Callable[[], None]]:
    """(`collect`, `flush`): `collect(item)` gathers finished items on `loop` and hands them to `deliver` as
    one list at most HANDOFF_S after the first of them; `flush()` hands on what is gathered now. One
    hand-off per batch, not per record: at thousands of requests a second, a thread wake-up (or a queue
    message) per record is a large share of the generator's CPU."""
    batch: list[Any] = []

    def flush() -> None:
        if batch:
            deliver(batch[:])
            batch.clear()

    def collect(item: Any) -> None:
        if not batch:
            loop.call_later(HANDOFF_S, flush)
        batch.append(item)

    return collect, flush


LAG_PROBE_S = 0.01  # how often the generator checks that its own event loop is on time


async def watched(work: Awaitable[None], lags_s: list[float]) -> None:
    """Run `work` while a probe on the same loop asks to wake every LAG_PROBE_S and notes how late it woke:
    the event loop's lag, the delay every chunk and every scheduled arrival of the level also saw."""
    loop = asyncio.get_running_loop()

    async def probe() -> None:
        while True:
            t = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            lags_s.append(max(0.0, loop.time() - t - LAG_PROBE_S))

    task = asyncio.ensure_future(probe())
    try:
        await work
    finally:
        task.cancel()


def lag_stats(lags_s: list[float]) -> dict[str, Any]:
    """The event-loop lag of a level in ms: p50, p99, max and the number of probes."""
    if not lags_s:
        return {"loop_lag_ms": None}
    values = np.array(lags_s) * 1000.0
    return {"loop_lag_ms": {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
                            "max": float(values.max()), "n": len(values)}}


def run_level(level: Level, jobs: list[Any], send: Callable[[Any], Awaitable[dict | None]],
              loop: asyncio.AbstractEventLoop, stop: Callable[[], bool], stats: dict[str, Any],
              offsets_s: list[float] | None = None) -> Iterator[dict[str, Any]]:
    """Run one level on `loop` (in a helper thread), yielding records as they finish; fills `stats` with the
    level's wall time and the load generator's own CPU time once the level is done. `offsets_s` (ascending,
    one per job) replaces the level's own arrival schedule: a trace replay."""
    handoff: queue.Queue = queue.Queue()
    done = object()
    deliver, flush = batched(loop, handoff.put)

    lags_s: list[float] = []

    def body() -> None:
        cpu0_s, t0 = time.thread_time(), time.perf_counter()
        try:
            loop.run_until_complete(watched(drive(level, jobs, send, deliver, stop, offsets_s), lags_s))
            flush()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
            flush()
            handoff.put(exc)
        finally:
            # the event loop thread's own CPU time (ns resolution; os.times() counts in 10 ms ticks)
            stats.update(wall_s=time.perf_counter() - t0, client_cpu_s=time.thread_time() - cpu0_s,
                         **lag_stats(lags_s))
            handoff.put(done)

    thread = threading.Thread(target=body, name=f"loadgen-{level.name}", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        thread.join()
