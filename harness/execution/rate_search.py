"""`--profile capacity:rate[:pNN][:MAX_RPS]`: the highest open-loop request rate whose latencies meet the SLO.

The closed-loop search (capacity_search.py) asks how many requests may be in flight; this one asks how many
may *arrive* per second, independently of how fast earlier ones finish — the load a public endpoint sees.
Its levels are open loops with Poisson arrivals (`poisson:R`, as `--profile poisson:R` sends them):

1. a probe at concurrency 1 (`concurrent:1`) measures one request at a time: its throughput is the service
   rate of a lone request, the first rate tried; if even it misses the SLO, no rate can meet it and the
   search stops;
2. rates R, 2R, 4R, ... (at most MAX_RPS, default 1024) run until a level misses the SLO or *falls behind*,
   then up to `BISECT_STEPS` rates between the last good one and the first bad one are bisected;
3. a level *keeps up* when the engine served its requests as fast as they arrived: its served rate,
   finished requests / (wall time - the level's own E2E p50), is at least the offered rate (requests - 1) /
   (the span of its arrival schedule) divided by `KEEP_UP_SLACK`. Below capacity the level ends about one
   typical request after the last arrival; above it a queue builds, later requests wait ever longer and the
   level ends a backlog (half of which the E2E p50 absorbs) after it: that rate is not sustainable, whatever
   the latencies of this finite level say;
4. the *capacity* is the highest rate that met the SLO and kept up (with no `--slo`: the highest rate that
   kept up, said so), priced at the rate its arrival schedule actually offered (a finite Poisson draw at R
   offers R give or take a few per cent); the *knee* is the highest rate, before the first that fell behind, whose E2E pNN stays
   within `KNEE_RISE` x that of the lightest rate: past it, latency turns up with load.

GuideLLM's `sweep` profile does the same in spirit (a synchronous probe, then rates up to the throughput
limit); this search doubles and bisects instead of interpolating a fixed number of rates, so that it ends
within a factor of 2^-BISECT_STEPS of the capacity. The result goes into the model's manifest entry
(`capacity_search`, mode `rate`); the break-even uses the capacity rate (harness.analysis.served_capacity).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harness.analysis.request_metrics import request_metrics
from harness.execution.capacity_search import CapacitySearch, level_row
from harness.execution.loadgen import Level

KEEP_UP_SLACK = 1.1  # served within 10 % of the offered rate: no queue built up
KNEE_RISE = 1.5  # the knee: the last rate whose E2E pNN is within 1.5 x that of the lightest rate
BISECT_STEPS = 3
PROBE = Level("concurrent:1", concurrency=1)


def rate_level(rate_per_s: float) -> Level:
    """The open-loop level at `rate_per_s` (three significant figures, so that level names stay short)."""
    rate = float(f"{rate_per_s:.3g}")
    return Level(f"poisson:{rate:g}", rate_per_s=rate)


@dataclass
class RateSearch:
    """The levels of an open-loop capacity search, chosen one at a time from what the levels before them measured."""

    slos: dict[str, float]  # metric column (ttft_s, itl_s, e2e_s) -> limit in seconds
    percentile: int = 90
    max_rate_per_s: float = 1024.0
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # level name -> what the level gave
    stopped: str = ""
    mode: str = "rate"

    def settings(self) -> dict[str, Any]:
        """The search as the manifest's settings record it."""
        return {"mode": self.mode, "percentile": self.percentile, "max_rate_per_s": self.max_rate_per_s}

    def fresh(self) -> RateSearch:
        """The same search with nothing measured yet (one per model)."""
        return replace(self, measured={}, stopped="")

    def max_levels(self) -> int:
        """An upper bound on the levels it runs (for progress): the probe, the doublings, the bisections."""
        return 2 + max(0, math.ceil(math.log2(max(self.max_rate_per_s, 1.0)))) + 10 + BISECT_STEPS

    def _good(self, row: dict[str, Any]) -> bool:
        return row["met"] and row["keeps_up"]

    def levels(self, n_requests: int) -> Iterator[Level]:
        """The probe, then open-loop levels, each chosen after the one before it was `observe`d."""
        yield PROBE
        probe = self.measured.get(PROBE.name)
        if probe is None:
            self.stopped = "stopped"
            return
        if not probe["met"]:
            self.stopped = "concurrent:1 missed the SLO: no arrival rate can meet it"
            return
        if not probe["requests_per_s"]:
            self.stopped = "concurrent:1 finished no request"
            return
        rate = min(probe["requests_per_s"], self.max_rate_per_s)
        while True:
            level = rate_level(rate)
            yield level
            row = self.measured.get(level.name)
            if row is None:
                self.stopped = "stopped"
                return
            if not row["met"]:
                self.stopped = f"{level.name} missed the SLO"
                break
            if not row["keeps_up"]:
                self.stopped = f"{level.name} fell behind its arrivals (a queue built up)"
                break
            if rate >= self.max_rate_per_s:
                self.stopped = f"reached the highest rate searched ({self.max_rate_per_s:g} req/s)"
                return
            rate = min(rate * 2, self.max_rate_per_s)
        for _ in range(BISECT_STEPS):  # between the highest good rate and the lowest bad one above it
            rates = [r for r in self.measured.values() if r["rate_per_s"] is not None]
            good = [r["rate_per_s"] for r in rates if self._good(r)]
            low = max(good) if good else 0.0
            bad = [r["rate_per_s"] for r in rates if not self._good(r) and r["rate_per_s"] > low]
            if not good or not bad or min(bad) / low < 1.1:
                return
            level = rate_level((low + min(bad)) / 2)
            if level.name in self.measured:
                return
            yield level
            if level.name not in self.measured:
                return

    def observe(self, level: Level, stats: dict[str, Any], records: list[dict[str, Any]]) -> None:
        """Read one finished level: throughput, latency percentiles, whether it met the SLO and kept up."""
        row = level_row(level, stats, records, self.slos, self.percentile)
        row["rate_per_s"] = level.rate_per_s
        offsets = [r["scheduled_offset_s"] for r in records if r.get("scheduled_offset_s") is not None]
        span_s = max(offsets) - min(offsets) if offsets else 0.0
        wall_s = stats.get("wall_s") or 0.0
        e2e_p50_s = float(np.percentile(e2e, 50)) if (e2e := [m for r in records if r.get("error") is None
                                                              and (m := request_metrics(r)["e2e_s"]) is not None]) \
            else 0.0
        n_ok = row["n_requests"] - row["n_failed"]
        row["offered_per_s"] = (len(offsets) - 1) / span_s if span_s > 0 else None
        row["served_per_s"] = n_ok / (wall_s - e2e_p50_s) if wall_s > e2e_p50_s else None
        if level.rate_per_s is None or row["offered_per_s"] is None:  # the probe (a closed loop of one); or one request
            row["keeps_up"] = bool(n_ok)
        else:
            row["keeps_up"] = row["served_per_s"] is not None and \
                row["served_per_s"] * KEEP_UP_SLACK >= row["offered_per_s"]
        self.measured[level.name] = row

    def result(self) -> dict[str, Any]:
        """What the search found, for the manifest: every level measured, the capacity rate and the knee."""
        rates = sorted((r for r in self.measured.values() if r["rate_per_s"] is not None),
                       key=lambda r: r["rate_per_s"])
        passing = [r for r in rates if self._good(r)]  # with no SLO every level without failures meets it
        chosen = passing[-1] if passing else None
        knee = None
        lightest = rates[0].get(f"e2e_p{self.percentile}_s") if rates else None
        for row in rates:
            if not row["keeps_up"]:
                break
            e2e_s = row.get(f"e2e_p{self.percentile}_s")
            if lightest and e2e_s is not None and e2e_s > KNEE_RISE * lightest:
                break
            knee = row["level"]
        probe = self.measured.get(PROBE.name)
        # the rate its schedule actually offered (a Poisson draw of a finite level is not exactly R), and kept up with
        rate_per_s = (chosen["offered_per_s"] or chosen["rate_per_s"]) if chosen else None
        return {"mode": self.mode, "percentile": self.percentile,
                "slos_ms": {k: v * 1000 for k, v in self.slos.items()}, "max_rate_per_s": self.max_rate_per_s,
                "levels": ([probe] if probe else []) + rates, "stopped": self.stopped,
                "capacity_level": chosen["level"] if chosen else None,
                "capacity_rate_per_s": rate_per_s, "capacity_tasks_per_day": rate_per_s * 86400 if rate_per_s else None,
                "knee_level": knee}


LevelSearch = CapacitySearch | RateSearch  # what `--profile capacity...` runs: levels chosen as they are measured
