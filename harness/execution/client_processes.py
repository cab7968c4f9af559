"""A load level split between several client processes on this machine (`--client-processes N`).

One asyncio client on one core sustains a few thousand streamed requests a second
(benchmarks/loadgen_overhead.py); a level that needs more is split. Every request of the level is prepared
in the run's process (prompt built, record identity fixed), then:
  closed loop (concurrency C)  the C request slots are dealt out between the processes as evenly as they go,
                               and the requests in proportion to each process's slots;
  open loop (rate, or a trace) the level's one arrival schedule is dealt out request by request, and every
                               process starts the schedule at the same wall-clock instant, so the
                               level's overall rate and burstiness are the schedule's.
Each process runs the same client and request path as a single generator (`loadgen.drive` over
`request.execute_async`), sends finished requests back in batches (at most `HANDOFF_S` apart), and
reports its own CPU time and event-loop lag; the run's process merges them into the one records.jsonl as they come. A client
process that dies leaves its unfinished requests recorded as failed (`client_lost`, not retried; `harness
run --resume RUN --retry-failed` sends them again). The same share runner serves Ray's client actors
(run/ray_cluster.py).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import queue
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from harness.backends import Prompt, backend_class
from harness.backends.failures import RequestFailed
from harness.errors import HarnessError
from harness.execution.loadgen import Level, batched, drive, lag_stats, watched
from harness.execution.request import RequestStopped, execute_async, unsent_raw
from harness.execution.retry import RetryPolicy

REQUESTS_PER_CLIENT_SLOT = 128  # closed-loop slots one client process is given before another is added
RATE_PER_CLIENT_PER_S = 1000.0  # open-loop arrivals per second one client process is given
MIN_REQUESTS_TO_SPLIT = 500  # below this a level's requests do not repay starting processes (~1 s each)
START_LEAD_S = 0.5  # an open loop's shared start lies this far ahead, so that every client is waiting for it


@dataclass(frozen=True)
class Share:
    """What one client runs of a level: its level (its own slots for a closed loop), its requests as
    (index in the level, prompt), and for an open loop their offsets and the shared start."""

    level: Level
    items: list[tuple[int, Prompt]]
    offsets_s: list[float] | None = None
    start_at_s: float | None = None


def default_client_processes(level: Level, n_requests: int, cores: int) -> int:
    """How many client processes a level gets by default: one, unless the level is large enough to repay
    more (`REQUESTS_PER_CLIENT_SLOT` slots or `RATE_PER_CLIENT_PER_S` arrivals/s each), and at most half
    the cores (the rest are left to the server, when it runs here)."""
    if n_requests < MIN_REQUESTS_TO_SPLIT:
        return 1
    if level.concurrency is not None:
        wanted = math.ceil(level.concurrency / REQUESTS_PER_CLIENT_SLOT)
    elif level.rate_per_s is not None:
        wanted = math.ceil(level.rate_per_s / RATE_PER_CLIENT_PER_S)
    else:
        wanted = 1
    return max(1, min(wanted, cores // 2))


def split_level(level: Level, items: list[tuple[int, Prompt]], n_clients: int,
                offsets_s: list[float] | None = None, start_at_s: float | None = None) -> list[Share]:
    """The level's shares for `n_clients` clients (fewer when it has fewer slots or requests than that)."""
    if level.concurrency is not None:
        n = max(1, min(n_clients, level.concurrency, len(items)))
        slots = [level.concurrency // n + (i < level.concurrency % n) for i in range(n)]
        # requests in proportion to slots: deal them out in the order of each client's next slot's turn
        dealt: list[list[tuple[int, Prompt]]] = [[] for _ in range(n)]
        for item in items:
            client = min(range(n), key=lambda i: (len(dealt[i]) / slots[i], i))
            dealt[client].append(item)
        return [Share(replace(level, concurrency=slots[i]), dealt[i]) for i in range(n) if dealt[i]]
    n = max(1, min(n_clients, len(items)))
    return [Share(level, items[i::n], list(offsets_s[i::n]) if offsets_s is not None else None, start_at_s)
            for i in range(n)]


def lost_raw(message: str) -> dict[str, Any]:
    """The observations of a request whose client was lost before it finished."""
    return unsent_raw(RequestFailed("client_lost", message).to_record())


class NodeLost(HarnessError):
    """A remote session's node (or its actor) was lost; `owed` are the jobs it had not finished, `error` what
    their records say."""

    def __init__(self, message: str, owed: list[Any]) -> None:
        super().__init__(message)
        self.owed = owed
        self.error = RequestFailed("node_lost", message).to_record()


class ShareTally:
    """What a level's clients have sent back: which requests each returned, each client's figures, and the
    requests a lost client still owed (recorded as `client_lost`, unless the run was stopped)."""

    def __init__(self, shares: list[Share]) -> None:
        self.shares, self.t0 = shares, time.perf_counter()
        self.returned: list[set[int]] = [set() for _ in shares]
        self.clients: dict[int, dict[str, Any]] = {}

    def got(self, number: int, raw: dict[str, Any]) -> dict[str, Any]:
        self.returned[number].add(raw["_index"])
        raw["_client"] = number  # which of the level's `clients` (manifest) sent it
        return raw

    def lost(self, number: int, facts: dict[str, Any], message: str, stopped: bool) -> Iterator[dict[str, Any]]:
        self.clients[number] = {**facts, "lost": True}
        if stopped:
            return  # what was not sent is left to --resume
        for index, _ in self.shares[number].items:
            if index not in self.returned[number]:
                yield {**lost_raw(message), "_index": index, "_client": number}

    def fill(self, stats: dict[str, Any]) -> None:
        """The level's wall time, the clients' summed CPU time and each client's figures, into `stats`."""
        clients = [self.clients[i] for i in sorted(self.clients)]
        lags = [c["loop_lag_ms"] for c in clients if c.get("loop_lag_ms")]
        stats.update(wall_s=time.perf_counter() - self.t0,
                     client_cpu_s=sum(c.get("cpu_s", 0.0) for c in self.clients.values()), clients=clients,
                     # the level's event-loop lag: its worst client's (every client's own is in `clients`)
                     loop_lag_ms=max(lags, key=lambda lag: lag["p99"]) if lags else None)


def run_share(backend: Any, policy: RetryPolicy, share: Share, stop: Callable[[], bool],
              deliver: Callable[[list[dict[str, Any]]], None], loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """Run one share on `loop`, handing finished requests' observations (with `_index`) to `deliver` in
    batches; returns the share's own figures: wall and CPU time, requests, process and host."""
    prompts = dict(share.items)
    collect, flush = batched(loop, deliver)

    async def send(index: int) -> dict[str, Any] | None:
        try:
            raw = await execute_async(backend, prompts[index], policy, stop)
        except RequestStopped:
            return None
        raw["_index"] = index
        return raw

    cpu0_s, t0 = time.process_time(), time.perf_counter()
    lags_s: list[float] = []
    try:
        loop.run_until_complete(watched(drive(share.level, [index for index, _ in share.items], send, collect, stop,
                                              share.offsets_s, share.start_at_s), lags_s))
    finally:
        flush()
    return {"pid": os.getpid(), "host": socket.gethostname(), "n_requests": len(share.items),
            "concurrency": share.level.concurrency, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - cpu0_s, **lag_stats(lags_s)}


def serve_shares(cfg: Any, max_attempts: int, inbox: Any, outbox: Any, stop_event: Any, number: int) -> None:
    """A client process: load the endpoint's backend, then run each share sent to `inbox` until None."""
    loop = asyncio.new_event_loop()
    backend = None
    try:
        backend = backend_class(cfg.kind)(cfg)
        backend.load()
        outbox.put(("ready", number, {"pid": os.getpid()}))
        policy = RetryPolicy(max_attempts=max_attempts)
        while (share := inbox.get()) is not None:
            stats = run_share(backend, policy, share, stop_event.is_set,
                              lambda batch: outbox.put(("records", number, batch)), loop)
            outbox.put(("done", number, stats))
    except Exception as exc:  # noqa: BLE001 - reported to the run's process, which decides
        outbox.put(("error", number, f"{type(exc).__name__}: {exc}"))
    finally:
        if backend is not None and hasattr(backend, "aclose"):
            loop.run_until_complete(backend.aclose())
        loop.close()


class ProcessClients:
    """`n` client processes for one endpoint, started once and reused for every level of the model."""

    def __init__(self, cfg: Any, max_attempts: int, n: int, ready_timeout_s: float = 120.0) -> None:
        self.size = n
        context = multiprocessing.get_context("spawn")  # not fork: the run's process has threads (meters, loops)
        self.stop_event = context.Event()
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(n)]
        self.processes = [context.Process(target=serve_shares, name=f"harness-client-{i}", daemon=True,
                                          args=(cfg, max_attempts, self.inboxes[i], self.outbox, self.stop_event, i))
                          for i in range(n)]
        for process in self.processes:
            process.start()
        deadline, ready = time.monotonic() + ready_timeout_s, set[int]()
        while len(ready) < n:
            try:
                kind, number, detail = self.outbox.get(timeout=0.2)
            except queue.Empty:
                dead = [i for i, process in enumerate(self.processes) if i not in ready and not process.is_alive()]
                if dead or time.monotonic() > deadline:
                    self.close()
                    why = f"exited (code {self.processes[dead[0]].exitcode})" if dead else \
                        f"not ready in {ready_timeout_s:g} s"
                    raise HarnessError(f"client process {dead[0] if dead else ''} {why}".replace("  ", " ")) from None
                continue
            if kind == "error":
                self.close()
                raise HarnessError(f"client process {number} could not start: {detail}")
            ready.add(number)

    def run(self, shares: list[Share], stop: Callable[[], bool], stats: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Run the shares (one per process), yielding observations (with `_index`) as batches arrive; fills
        `stats` with the level's wall time, the clients' summed CPU time and each client's figures."""
        tally = ShareTally(shares)
        for inbox, share in zip(self.inboxes, shares):
            inbox.put(share)
        pending = set(range(len(shares)))
        while pending:
            if stop():
                self.stop_event.set()
            stopped = self.stop_event.is_set()
            try:
                kind, number, detail = self.outbox.get(timeout=0.1)
            except queue.Empty:
                for number in sorted(pending):
                    if not self.processes[number].is_alive():
                        pending.discard(number)
                        pid = self.processes[number].pid
                        yield from tally.lost(number, {"pid": pid}, f"client process {number} (pid {pid}) exited "
                                              "before its requests finished", stopped)
                continue
            if kind == "records":
                for raw in detail:
                    yield tally.got(number, raw)
            elif kind == "done":
                pending.discard(number)
                tally.clients[number] = detail
            elif kind == "error":
                pending.discard(number)
                yield from tally.lost(number, {"pid": self.processes[number].pid, "error": detail},
                                      f"client process {number} failed: {detail}", stopped)
        tally.fill(stats)

    def close(self) -> None:
        """Ask every process to finish, then end those that do not."""
        for inbox, process in zip(self.inboxes, self.processes):
            if process.is_alive():
                inbox.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
