"""Which capacity the break-even uses for a local model, and where it comes from.

In order of preference:
1. a capacity search: with `--profile capacity`, the level it chose, the highest-throughput closed-loop
   level whose latency percentiles met the SLO; with `--profile capacity:rate`, the highest open-loop
   arrival rate that met the SLO and kept up (the capacity is that rate: tasks/day = rate x 86,400);
2. load levels measured otherwise (`--profile sweep:...`): the highest-throughput level whose p90 TTFT, ITL
   and E2E met the run's `--slo` (with no SLO: the highest-throughput level, said so);
3. nothing measured under load: one request at a time (86,400 / mean E2E), labelled batch 1.

A measured level gives the machine-seconds per task (1 / its request throughput: the requests in flight
share the machine) and its energy per task, so the break-even prices the batching it measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

P90_COLUMNS = {"ttft_s": "ttft_p90_s", "itl_s": "itl_p90_s", "e2e_s": "e2e_p90_s"}


@dataclass(frozen=True)
class ServedCapacity:
    """A local model's capacity for the break-even: tasks/day, machine-seconds and energy per task, and its basis."""

    tasks_per_day: float
    task_s: float
    energy_j_per_task: float | None
    level: str | None  # the load level it was measured at; None for batch 1
    basis: str  # a phrase for the reader: where the figure comes from


def _slo_text(slos_s: dict[str, float], percentile: int) -> str:
    if not slos_s:
        return "no SLO given"
    return ", ".join(f"p{percentile} {k[:-2].upper()} ≤ {v * 1000:g} ms" for k, v in slos_s.items())


def served_capacity(model: str, entry: dict[str, Any], levels: pd.DataFrame | None, slos_s: dict[str, float],
                    e2e_mean_s: float | None, energy_j_per_task: float | None) -> ServedCapacity | None:
    """The capacity the break-even should use for `model` (see the module's docstring); None when not even a
    batch-1 figure is known."""
    rows = levels[levels["model"] == model] if levels is not None and len(levels) else pd.DataFrame()
    rows = rows[rows["request_throughput_per_s"].fillna(0) > 0] if len(rows) else rows
    search = entry.get("capacity_search")
    chosen, basis, rate_per_s = None, "", None
    if search and len(rows):
        chosen, basis, rate_per_s = _searched(search, rows)
    elif len(rows):
        met = rows
        for column, limit in slos_s.items():
            met = met[met[P90_COLUMNS[column]].notna() & (met[P90_COLUMNS[column]] <= limit)]
        if len(met):
            chosen = met.sort_values("request_throughput_per_s").iloc[-1]
            basis = (f"measured: {chosen['level']}, the busiest level meeting {_slo_text(slos_s, 90)}" if slos_s
                     else f"measured: {chosen['level']}, the highest throughput measured (no SLO given)")
        else:
            chosen = rows.sort_values("concurrency").iloc[0]
            basis = f"measured: no level met {_slo_text(slos_s, 90)}; {chosen['level']}, the lightest level, shown"
    if chosen is not None:
        rate = rate_per_s if rate_per_s else float(chosen["request_throughput_per_s"])
        energy = chosen["energy_j_per_task"]
        return ServedCapacity(rate * 86400, 1.0 / rate, None if energy is None or math.isnan(energy) else float(energy),
                              str(chosen["level"]), basis)
    if e2e_mean_s:
        return ServedCapacity(86400 / e2e_mean_s, e2e_mean_s, energy_j_per_task, None,
                              "batch 1: one request at a time (no load level measured)")
    return None


def _searched(search: dict[str, Any], rows: pd.DataFrame) -> tuple[Any, str, float | None]:
    """(level row, basis, capacity rate for an open-loop search) of a model's `capacity_search` entry."""
    slos_s = {k: v / 1000 for k, v in (search.get("slos_ms") or {}).items()}
    slo, level = _slo_text(slos_s, search["percentile"]), search.get("capacity_level")
    match = rows[rows["level"] == level] if level is not None else rows.iloc[0:0]
    if search.get("mode") == "rate":
        if len(match):
            rate = float(search["capacity_rate_per_s"])
            if not slos_s:
                return match.iloc[0], f"searched: rate {rate:.3g} req/s ({level}), the highest arrival rate that " \
                    "kept up (no SLO given)", rate
            limits = ", ".join(f"{k[:-2].upper()} ≤ {v * 1000:g} ms" for k, v in slos_s.items())
            return match.iloc[0], f"searched: rate {rate:.3g} req/s at p{search['percentile']} under SLO {limits} " \
                f"({level}, the highest arrival rate meeting it that kept up)", rate
        lightest = rows.sort_values("concurrency").iloc[0]
        return lightest, f"searched: no arrival rate met {slo}; {lightest['level']}, the lightest level, shown", None
    if len(match):
        if not slos_s:
            return match.iloc[0], f"searched: {level}, the highest throughput measured (no SLO given)", None
        return match.iloc[0], f"searched: {level}, the busiest level meeting {slo}", None
    if level is None:
        lightest = rows.sort_values("concurrency").iloc[0]
        return lightest, f"searched: no level met {slo}; {lightest['level']}, the lightest level, shown", None
    return None, "", None
