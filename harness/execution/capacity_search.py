"""`--profile capacity[:pNN][:MAX]`: the highest closed-loop concurrency whose latencies meet the SLO, found by search.

(`capacity:rate[:pNN][:MAX_RPS]` searches an open-loop arrival rate instead: harness.execution.rate_search.)

The search runs the suite as a closed-loop level at concurrency 1, 2, 4, ... (at most MAX, default 64, and at
most the number of requests of a level), and after each level reads its requests' TTFT, ITL and E2E:

- a level *meets the SLO* when none of its requests failed and, for every objective of `--slo`
  (ttft_ms, itl_ms, e2e_ms), the level's percentile (p90 by default, `capacity:p99` for p99) is within it;
- doubling stops at the first level that misses the SLO, or that serves fewer than `SATURATED` x the best
  throughput so far (more requests in flight only queue), or at MAX; between the last level that met the
  SLO and the first that missed it, up to `BISECT_STEPS` levels are bisected;
- the *capacity* is the level meeting the SLO with the highest request throughput (with no `--slo`: the
  highest throughput measured, said so); the *knee* is the last level after which doubling the concurrency
  raised the throughput by at least `KNEE_GAIN` (beyond it, latency grows faster than throughput).

What it found goes into the model's manifest entry (`capacity_search`); the break-even analysis uses that
level's throughput, energy and cost per task (harness.analysis.served_capacity).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np

from harness.analysis.request_metrics import request_metrics
from harness.errors import InputError
from harness.execution.loadgen import Level

SATURATED = 1.05  # a level under 1.05 x the best throughput so far adds nothing: the engine is saturated
KNEE_GAIN = 1.10  # the knee: the last doubling that still raised throughput by 10 % or more
BISECT_STEPS = 2
SLO_METRICS = ("ttft_s", "itl_s", "e2e_s")


PERCENTILES = ("p50", "p90", "p95", "p99")
CAPACITY_FORMS = "capacity[:p50|p90|p95|p99][:MAX CONCURRENCY] or capacity:rate[:p50|p90|p95|p99][:MAX REQUESTS/S]"


def parse_capacity_profile(text: str) -> tuple[str, int, float] | None:
    """(mode, percentile, bound) of a capacity profile: mode `concurrency` with its highest concurrency
    (`capacity[:pNN][:MAX]`, default 64) or `rate` with its highest request rate per second
    (`capacity:rate[:pNN][:MAX_RPS]`, default 1024); None for any other profile."""
    kind, _, rest = text.partition(":")
    if kind != "capacity":
        return None
    parts = rest.split(":") if rest else []
    mode = "rate" if parts and parts[0] == "rate" else "concurrency"
    parts = parts[1:] if mode == "rate" else parts
    percentile, most = 90, (1024.0 if mode == "rate" else 64.0)
    seen_bound = seen_percentile = False
    for part in parts:
        if part in PERCENTILES and not seen_percentile and not seen_bound:
            percentile, seen_percentile = int(part[1:]), True
            continue
        try:
            value = float(part) if mode == "rate" else int(part)
        except ValueError:
            value = 0
        if value > 0 and math.isfinite(value) and not seen_bound:
            most, seen_bound = float(value), True
            continue
        raise InputError(f"--profile {text}: expected {CAPACITY_FORMS}")
    return mode, percentile, most


@dataclass
class CapacitySearch:
    """The levels of a capacity search, chosen one at a time from what the levels before them measured."""

    slos: dict[str, float]  # metric column (ttft_s, itl_s, e2e_s) -> limit in seconds
    percentile: int = 90
    max_concurrency: int = 64
    measured: dict[int, dict[str, Any]] = field(default_factory=dict)  # concurrency -> what the level gave
    stopped: str = ""
    mode: str = "concurrency"

    def settings(self) -> dict[str, Any]:
        """The search as the manifest's settings record it."""
        return {"mode": self.mode, "percentile": self.percentile, "max_concurrency": self.max_concurrency}

    def fresh(self) -> CapacitySearch:
        """The same search with nothing measured yet (one per model)."""
        return replace(self, measured={}, stopped="")

    def max_levels(self) -> int:
        """An upper bound on the levels it runs (for progress): the doublings and a bisection."""
        return self.max_concurrency.bit_length() + 1

    def levels(self, n_requests: int) -> Iterator[Level]:
        """Closed-loop levels to run, each chosen after the one before it was `observe`d."""
        most = max(1, min(self.max_concurrency, n_requests))
        concurrency = 1
        while True:
            yield Level(f"concurrent:{concurrency}", concurrency=concurrency)
            level = self.measured.get(concurrency)
            if level is None:  # the level did not run (the run was stopped)
                self.stopped = "stopped"
                return
            best = max(m["requests_per_s"] for c, m in self.measured.items() if c != concurrency) \
                if len(self.measured) > 1 else 0.0
            if not level["met"]:
                self.stopped = f"concurrent:{concurrency} missed the SLO"
                break
            if best and level["requests_per_s"] < SATURATED * best:
                self.stopped = f"concurrent:{concurrency} served no more than the levels below it (saturated)"
                return
            if concurrency >= most:
                self.stopped = f"reached the highest concurrency searched ({most})"
                return
            concurrency = min(concurrency * 2, most)
        for _ in range(BISECT_STEPS):  # between the last level that met the SLO and the first that missed it
            met = [c for c, m in self.measured.items() if m["met"]]
            low = max(met) if met else 0
            high = min(c for c, m in self.measured.items() if not m["met"] and c > low)
            if high - low <= 1 or low == 0:
                return
            middle = (low + high) // 2
            yield Level(f"concurrent:{middle}", concurrency=middle)
            if middle not in self.measured:
                return

    def observe(self, level: Level, stats: dict[str, Any], records: list[dict[str, Any]]) -> None:
        """Read one finished level: its throughput and latency percentiles, and whether it met the SLO."""
        assert level.concurrency is not None, "a capacity search's levels are closed loops (concurrent:N)"
        self.measured[level.concurrency] = level_row(level, stats, records, self.slos, self.percentile)

    def result(self) -> dict[str, Any]:
        """What the search found, for the manifest: every level measured, the capacity level and the knee."""
        rows = [self.measured[c] for c in sorted(self.measured)]
        passing = [r for r in rows if r["met"]]
        chosen = max(passing, key=lambda r: r["requests_per_s"]) if passing else None
        knee = None
        for before, after in pairwise(rows):
            if after["requests_per_s"] >= KNEE_GAIN * before["requests_per_s"]:
                knee = after["level"]
            else:
                knee = knee or before["level"]
                break
        return {"mode": self.mode, "percentile": self.percentile, "slos_ms": {k: v * 1000 for k, v in self.slos.items()},
                "max_concurrency": self.max_concurrency, "levels": rows, "stopped": self.stopped,
                "capacity_level": chosen["level"] if chosen else None,
                "capacity_tasks_per_day": chosen["requests_per_s"] * 86400 if chosen else None,
                "knee_level": knee}


def level_row(level: Level, stats: dict[str, Any], records: list[dict[str, Any]], slos: dict[str, float],
              percentile: int) -> dict[str, Any]:
    """What a search reads of one finished level: requests, failures, request throughput, the pNN of TTFT, ITL
    and E2E, and whether it met the SLO (no request failed, every objective within its limit)."""
    wall_s = stats.get("wall_s") or 0.0
    ok = [r for r in records if r.get("error") is None]
    metrics = [request_metrics(r) for r in ok]
    row: dict[str, Any] = {"level": level.name, "concurrency": level.concurrency, "n_requests": len(records),
                           "n_failed": len(records) - len(ok), "requests_per_s": len(ok) / wall_s if wall_s else 0.0}
    met = bool(ok) and len(ok) == len(records)
    for column in SLO_METRICS:
        values = [observed_s for m in metrics if (observed_s := m.get(column)) is not None]
        row[f"{column[:-2]}_p{percentile}_s"] = value = float(np.percentile(values, percentile)) if values else None
        if column in slos:
            met = met and value is not None and value <= slos[column]
    row["met"] = met
    return row
