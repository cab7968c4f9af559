"""Per-load-level figures for profiled server endpoints and in-process models, derived from records and the manifest.

For each model and level (`concurrent:4`, `poisson:2`, ...), with W the level's wall time:

- request throughput = finished requests / W; system output tok/s = their output tokens / W; capacity per
  day = request throughput x 86,400 (what one machine serves at this level, for this request mix)
- TTFT, ITL (per request) and E2E percentiles (p50, p90, p99)
- goodput = requests that met every SLO given (`--slo ttft_ms=..,itl_ms=..,e2e_ms=..`) / W
- energy per task = the level's energy window / finished requests, with its source label
- $ per task: for a self-hosted server, (level energy kWh x price x PUE + hardware $/h / utilisation x W)
  / finished requests — the machine's time is shared by the requests in flight, which is how batching
  lowers the cost of a task; for a priced API, the mean of the requests' own costs
- client CPU per request = the harness process's CPU time during the level / requests sent
- the client watching itself: its event loop's p99 lag (a 10 ms probe), its CPU share (CPU s per wall s per
  client process) and the share of chunks that arrived coalesced; a level where the lag p99 exceeds 10 ms,
  the CPU share 80 % or the coalesced share 20 % is flagged (`client_flag`): the client may have made its
  latencies
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.cost.local import LocalCostParams, local_task_cost_usd
from harness.energy import window_total
from harness.errors import InputError

SLO_KEYS = {"ttft_ms": "ttft_s", "itl_ms": "itl_s", "e2e_ms": "e2e_s"}


def parse_slos(text: str | None) -> dict[str, float]:
    """`ttft_ms=500,itl_ms=50,e2e_ms=5000` -> {metric column: limit in seconds}."""
    slos: dict[str, float] = {}
    for part in filter(None, (text or "").split(",")):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in SLO_KEYS:
            raise InputError(f"--slo {text}: unknown SLO {key!r} (one of: {', '.join(SLO_KEYS)})")
        try:
            slos[SLO_KEYS[key]] = float(value) / 1000.0
        except ValueError:
            raise InputError(f"--slo {text}: {key} needs a number of milliseconds") from None
    return slos


def _q(series: pd.Series, q: float) -> float | None:
    values = series.dropna()
    return float(values.quantile(q)) if len(values) else None


def level_summary(frame: pd.DataFrame, manifest: dict[str, Any], slos: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per (model, level) of profiled runs; empty when no model ran under a profile."""
    slos = slos or {}
    rows = []
    for model, entry in manifest.get("models", {}).items():
        for level, stats in (entry.get("levels") or {}).items():
            group = frame[(frame["model"] == model) & (frame["level"] == level)]
            ok = group[~group["failed"]]
            wall_s = stats.get("wall_s") or 0.0
            energy_j, source = window_total(stats.get("energy_window"))
            met = ok
            for column, limit in slos.items():
                met = met[met[column].notna() & (met[column] <= limit)]
            local = entry.get("local_cost")
            if local and energy_j is not None and len(ok) and wall_s:
                # The level's energy and the machine's time over the level, shared by its finished requests.
                cost = local_task_cost_usd(LocalCostParams(**local), energy_j, wall_s) / len(ok)
            else:
                cost = float(ok["cost_usd"].mean()) if ok["cost_usd"].notna().any() else None
            rows.append({
                "model": model, "level": level, "concurrency": stats.get("concurrency"),
                "rate_per_s": stats.get("rate_per_s"), "n_requests": len(group), "n_ok": len(ok), "wall_s": wall_s,
                "request_throughput_per_s": len(ok) / wall_s if wall_s else None,
                "capacity_tasks_per_day": len(ok) / wall_s * 86400 if wall_s else None,
                "output_tok_per_s_system": float(ok["output_tokens"].sum()) / wall_s if wall_s else None,
                "ttft_p50_s": _q(ok["ttft_s"], 0.5), "ttft_p90_s": _q(ok["ttft_s"], 0.9), "ttft_p99_s": _q(ok["ttft_s"], 0.99),
                "itl_p50_s": _q(ok["itl_s"], 0.5), "itl_p90_s": _q(ok["itl_s"], 0.9), "itl_p99_s": _q(ok["itl_s"], 0.99),
                "e2e_p50_s": _q(ok["e2e_s"], 0.5), "e2e_p90_s": _q(ok["e2e_s"], 0.9), "e2e_p99_s": _q(ok["e2e_s"], 0.99),
                "goodput_per_s": len(met) / wall_s if wall_s and slos else None,
                "energy_j_per_task": energy_j / len(ok) if energy_j is not None and len(ok) else None,
                "energy_source": source, "cost_usd_per_task": cost, "self_hosted": bool(local),
                "client_cpu_ms_per_request": (stats.get("client_cpu_s") or 0.0) * 1000 / max(len(group), 1),
                **client_watch(ok, stats, wall_s),
                "metrics_delta": stats.get("metrics_delta"),
            })
    return pd.DataFrame(rows)


# Above these, the load generator may have made the level's latencies itself (see client_watch).
LAG_P99_LIMIT_MS = 10.0
CPU_SHARE_LIMIT = 0.8
COALESCED_LIMIT = 0.2


@dataclass(frozen=True)
class WatchLimits:
    """The self-watch's limits: event-loop lag p99 (ms; `--client-watch-lag-ms`), CPU share of a core per
    client process, share of chunks coalesced."""

    loop_lag_p99_ms: float = LAG_P99_LIMIT_MS
    cpu_share: float = CPU_SHARE_LIMIT
    coalesced_share: float = COALESCED_LIMIT

    def to_record(self) -> dict[str, float]:
        """The limits as a level's manifest entry records them (`watch_limits`)."""
        return {"loop_lag_p99_ms": self.loop_lag_p99_ms, "cpu_share": self.cpu_share,
                "coalesced_share": self.coalesced_share}

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> WatchLimits:
        """The limits a level was watched with (the defaults for a level recorded without them)."""
        return cls(**record) if record else cls()


def watch_reasons(lag_p99_ms: float | None, cpu_share: float | None, coalesced_share: float | None,
                  limits: WatchLimits) -> list[str]:
    """Why the client may have distorted a level: each figure over its limit, in words; [] when none is."""
    reasons = []
    if lag_p99_ms is not None and lag_p99_ms > limits.loop_lag_p99_ms:
        reasons.append(f"event loop p99 lag {lag_p99_ms:.1f} ms")
    if cpu_share is not None and cpu_share > limits.cpu_share:
        reasons.append(f"client CPU {cpu_share:.0%} of a core")
    if coalesced_share is not None and coalesced_share > limits.coalesced_share:
        reasons.append(f"{coalesced_share:.0%} of chunks coalesced")
    return reasons


def client_watch(ok: pd.DataFrame, stats: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """How the load generator fared during a level: its event loop's p99 lag, its CPU share (CPU seconds per
    wall second, per client process), the share of chunks that arrived coalesced, and a flag with its
    reasons when any of them is over the limits the level was run with (`watch_limits`; the defaults for
    older runs): the client, not the model, may have made the latencies. A level run again with more client
    processes (`client_grown`) says so; still flagged, its flag gives both attempts' reasons."""
    lag = stats.get("loop_lag_ms") or {}
    processes = max(int(stats.get("client_processes") or 1), 1)
    cpu_share = (stats.get("client_cpu_s") or 0.0) / wall_s / processes if wall_s else None
    gaps = float(ok["chunk_gaps"].sum()) if "chunk_gaps" in ok else 0.0
    coalesced = float(ok["chunks_coalesced"].sum()) / gaps if gaps else None
    reasons = watch_reasons(lag.get("p99"), cpu_share, coalesced, WatchLimits.from_record(stats.get("watch_limits")))
    grown = stats.get("client_grown")
    grown_text = (f"client grown to {grown['to']} processes after {grown['after']}" if grown else None)
    flag = None
    if reasons:
        flag = "client may have distorted this level: " + ", ".join(reasons)
        earlier = [f"attempt {a['attempt']} ({a['client_processes']} process{'es' if a['client_processes'] > 1 else ''}): "
                   + ", ".join(a["reasons"]) for a in stats.get("superseded") or []]
        if earlier:
            flag += f" (attempt {stats.get('attempt', 1)}, {processes} process{'es' if processes > 1 else ''}; " \
                "earlier " + "; ".join(earlier) + ")"
    return {"loop_lag_p99_ms": lag.get("p99"), "client_cpu_share": cpu_share, "coalesced_share": coalesced,
            "client_flag": flag, "client_grown": grown_text}


def share_by_tokens(frame: pd.DataFrame, rows: pd.Series, total_j: float, source: str) -> None:
    """Split a window's energy over the requests in `rows` by their share of tokens (input + output; evenly
    when none is known), labelled `... (token share)`."""
    tokens = frame.loc[rows, "input_tokens"].fillna(0) + frame.loc[rows, "output_tokens"].fillna(0)
    share = tokens / tokens.sum() if tokens.sum() > 0 else 1.0 / rows.sum()
    frame.loc[rows, "energy_j"] = total_j * share
    frame.loc[rows, "energy_source"] = f"{source} (token share)"


def attribute_levels(frame: pd.DataFrame, models: dict[str, Any]) -> None:
    """Give each request of a profiled level its share of the level's energy (by tokens) and, for a
    self-hosted server, its cost: that energy plus an even share of the machine's time over the level."""
    for name, entry in models.items():
        local = entry.get("local_cost")
        for level, stats in (entry.get("levels") or {}).items():
            rows = (frame["model"] == name) & (frame["level"] == level)
            total_j, source = window_total(stats.get("energy_window"))
            if total_j is None or not rows.any():
                continue
            share_by_tokens(frame, rows, total_j, source)
            if local:
                params, time_share_s = LocalCostParams(**local), (stats.get("wall_s") or 0.0) / rows.sum()
                frame.loc[rows, "cost_usd"] = [local_task_cost_usd(params, energy_j, time_share_s)
                                               for energy_j in frame.loc[rows, "energy_j"]]
