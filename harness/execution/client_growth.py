"""The load generator grows until it is not the bottleneck: a flagged level is run again with more client processes.

After each level of a server endpoint the client reads its own watch (the same figures and limits as
`harness.analysis.load_levels.client_watch`): its event loop's p99 lag, its CPU share per process and the
share of chunks that arrived coalesced. When the lag or the CPU share is over its limit, the client may
have made the level's latencies itself (coalesced chunks alone, with the loop on time, come from how the
server wrote them, and more processes would not change them: such a level is flagged, not re-run); if the number of client processes was chosen by the harness (no `--client-processes`,
no Ray), the level is run once more with twice the processes, at most the cores the client may use:
`usable_cores()`, less half of them when the harness launched the endpoint's server on this machine (the
server needs its share; the same split `default_client_processes` makes).

The first attempt's records stay in records.jsonl as they were written; the re-run's carry `attempt: 2`, and
every reader keeps only a level's latest attempt (`harness.store.records.accepted_attempts`), so no
aggregate counts a request twice. The manifest's level entry holds the accepted attempt's figures, with the
superseded attempt's figures and reasons under `superseded` and the growth under `client_grown`. A level is
run again at most once: still flagged, it stays flagged with both attempts' reasons.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from harness.analysis.load_levels import WatchLimits, watch_reasons

MAX_ATTEMPTS = 2  # a flagged level is run again once


def level_watch(stats: dict[str, Any], records: list[dict[str, Any]], limits: WatchLimits) -> dict[str, Any]:
    """A finished level's self-watch from its stats and raw records: lag p99 (ms), CPU share per process,
    coalesced share (chunks stamped with the one before them arrived in the same read) and the reasons."""
    lag = stats.get("loop_lag_ms") or {}
    wall_s = stats.get("wall_s") or 0.0
    processes = max(int(stats.get("client_processes") or 1), 1)
    cpu_share = (stats.get("client_cpu_s") or 0.0) / wall_s / processes if wall_s else None
    gaps = coalesced = 0
    for record in records:
        if record.get("error") is None:
            stamps = record.get("chunk_offsets_ns") or []
            gaps += max(len(stamps) - 1, 0)
            coalesced += sum(1 for a, b in pairwise(stamps) if a == b)
    share = coalesced / gaps if gaps else None
    return {"loop_lag_p99_ms": lag.get("p99"), "client_cpu_share": cpu_share, "coalesced_share": share,
            "reasons": watch_reasons(lag.get("p99"), cpu_share, share, limits),
            # what more client processes can cure: a late event loop or a busy core. Chunks coalesced while
            # the loop was on time were written together by the server (or the network): not the client's doing
            "client_bound": watch_reasons(lag.get("p99"), cpu_share, None, limits)}


def client_cores(usable: int, server_launched_here: bool) -> int:
    """The cores the load generator may use: all usable ones, less half of them when the harness launched the
    endpoint's server on this machine (at least one)."""
    return max(1, usable - usable // 2 if server_launched_here else usable)


def grown_clients(current: int, cores: int) -> int | None:
    """The client processes of a re-run: twice `current`, at most `cores`; None when that is no more."""
    grown = min(current * 2, cores)
    return grown if grown > current else None
