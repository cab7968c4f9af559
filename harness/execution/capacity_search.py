"""`--profile capacity[:pNN][:MAX]`: the highest closed-loop concurrency whose latencies meet the SLO, found by search.

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

from collections.abc import Iterator
from dataclasses import dataclass, field
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


def parse_capacity_profile(text: str) -> tuple[int, int] | None:
    """(percentile, max concurrency) of a `capacity[:pNN][:MAX]` profile; None for any other profile."""
    kind, _, rest = text.partition(":")
    if kind != "capacity":
        return None
    percentile, most = 90, 64
    for part in filter(None, rest.split(":")):
        if part in ("p50", "p90", "p95", "p99"):
            percentile = int(part[1:])
        elif part.isdigit() and int(part) >= 1:
            most = int(part)
        else:
            raise InputError(f"--profile {text}: expected capacity[:p50|p90|p95|p99][:MAX CONCURRENCY]")
    return percentile, most


@dataclass
class CapacitySearch:
    """The levels of a capacity search, chosen one at a time from what the levels before them measured."""

    slos: dict[str, float]  # metric column (ttft_s, itl_s, e2e_s) -> limit in seconds
    percentile: int = 90
    max_concurrency: int = 64
    measured: dict[int, dict[str, Any]] = field(default_factory=dict)  # concurrency -> what the level gave
    stopped: str = ""

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
        wall_s = stats.get("wall_s") or 0.0
        ok = [r for r in records if r.get("error") is None]
        metrics = [request_metrics(r) for r in ok]
        row: dict[str, Any] = {"level": level.name, "concurrency": level.concurrency, "n_requests": len(records),
                               "n_failed": len(records) - len(ok),
                               "requests_per_s": len(ok) / wall_s if wall_s else 0.0}
        met = bool(ok) and len(ok) == len(records)
        for column in SLO_METRICS:
            values = [observed_s for m in metrics if (observed_s := m.get(column)) is not None]
            row[f"{column[:-2]}_p{self.percentile}_s"] = value = \
                float(np.percentile(values, self.percentile)) if values else None
            if column in self.slos:
                met = met and value is not None and value <= self.slos[column]
        row["met"] = met
        assert level.concurrency is not None, "a capacity search's levels are closed loops (concurrent:N)"
        self.measured[level.concurrency] = row

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
        return {"percentile": self.percentile, "slos_ms": {k: v * 1000 for k, v in self.slos.items()},
                "max_concurrency": self.max_concurrency, "levels": rows, "stopped": self.stopped,
                "capacity_level": chosen["level"] if chosen else None,
                "capacity_tasks_per_day": chosen["requests_per_s"] * 86400 if chosen else None,
                "knee_level": knee}
