"""Re-pricing a finished run at another workload shape and volume, without running it again.

Local models: per-token time and power fitted from the run's own records (requests that finished, with
their own energy window):

    prefill_s_per_token = Σ TTFT / Σ N_in             (ratio estimator: the totals are reproduced exactly)
    decode_s_per_token  = Σ (E2E - TTFT) / Σ N_out
    busy_power_w        = Σ energy_j / Σ E2E
    predicted task_s    = prefill_s_per_token * N_in + decode_s_per_token * N_out
    predicted energy_j  = busy_power_w * predicted task_s

and priced by the local cost model (harness.cost.local) with the run's own settings. The fit's error is the
mean absolute error of the predicted E2E and energy over the run's requests, relative to the measured ones
(`e2e_error` and `energy_error`): a prediction far from the run's own shape carries at least that error,
and more where the per-token costs are not linear (long contexts slow decoding; prefix reuse is not
modelled). API models: list prices (genai-prices or the models.yaml override) at the shape's token
counts, a shared prefix billed as cache reads after its first request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from harness.analysis.model_summary import records_frame
from harness.cost.local import LocalCostParams, break_even_tasks_per_day, local_cost_per_day_usd, local_task_cost_usd
from harness.cost.pricing import RequestPricer, TokenUsage, cost_usd


@dataclass(frozen=True)
class LocalFit:
    """Per-token time and busy power of one local model, fitted from a run, with the fit's errors."""

    model: str
    n_requests: int
    prefill_s_per_token: float
    decode_s_per_token: float
    busy_power_w: float | None
    e2e_error: float
    energy_error: float | None

    def task_s(self, n_in: float, n_out: float) -> float:
        """Predicted seconds of a request with `n_in` input and `n_out` output tokens."""
        return self.prefill_s_per_token * n_in + self.decode_s_per_token * n_out

    def energy_j(self, n_in: float, n_out: float) -> float | None:
        """Predicted joules of such a request (None when the run measured no energy)."""
        return None if self.busy_power_w is None else self.busy_power_w * self.task_s(n_in, n_out)


def fit_local(records: list[dict[str, Any]], manifest: dict[str, Any]) -> dict[str, LocalFit]:
    """A fit per local model of the run (models with a local cost), from its finished requests."""
    frame = records_frame(records, manifest)
    fits = {}
    for name, entry in manifest.get("models", {}).items():
        if not entry.get("local_cost"):
            continue
        rows = frame[(frame["model"] == name) & ~frame["failed"]].dropna(
            subset=["ttft_s", "e2e_s", "input_tokens", "output_tokens"])
        if rows.empty or rows["input_tokens"].sum() <= 0 or rows["output_tokens"].sum() <= 0:
            continue
        prefill = rows["ttft_s"].sum() / rows["input_tokens"].sum()
        decode = (rows["e2e_s"] - rows["ttft_s"]).sum() / rows["output_tokens"].sum()
        predicted_s = prefill * rows["input_tokens"] + decode * rows["output_tokens"]
        e2e_error = float(((predicted_s - rows["e2e_s"]).abs() / rows["e2e_s"]).mean())
        power_w = energy_error = None
        with_energy = rows.dropna(subset=["energy_j"])
        if len(with_energy) and with_energy["e2e_s"].sum() > 0:
            power_w = float(with_energy["energy_j"].sum() / with_energy["e2e_s"].sum())
            predicted_j = power_w * (prefill * with_energy["input_tokens"] + decode * with_energy["output_tokens"])
            energy_error = float(((predicted_j - with_energy["energy_j"]).abs() / with_energy["energy_j"]).mean())
        fits[name] = LocalFit(name, len(rows), float(prefill), float(decode), power_w, e2e_error, energy_error)
    return fits


def _idle_w(entry: dict[str, Any]) -> float:
    idle = entry.get("idle")
    return sum(r["w"] for r in idle["readings"]) if idle else 0.0


def whatif_table(fits: dict[str, LocalFit], manifest: dict[str, Any], api_models: list[Any],
                 rows: list[dict[str, Any]], tasks_per_day: float, when: dt.datetime | None = None) -> pd.DataFrame:
    """Cost per task and per day of every local (fitted) and API model at the workload `rows`."""
    when = when or dt.datetime.now(dt.UTC)
    n = len(rows)
    mean_in = sum(r["input_tokens"] for r in rows) / n
    mean_out = sum(r["output_tokens"] for r in rows) / n
    out = []
    api_costs: dict[str, float] = {}
    for cfg in api_models:
        pricer = RequestPricer(cfg, warn=lambda message: None)
        total: Decimal | None = Decimal(0)
        seen: set[str] = set()
        source = None
        for row in rows:
            cached = written = 0
            if row.get("prefix_id") is not None:
                if row["prefix_id"] in seen:
                    cached = row["prefix_tokens"]
                else:
                    seen.add(row["prefix_id"])
                    written = row["prefix_tokens"] if cfg.kind == "anthropic" else 0
            prices = pricer.quote(when, row["input_tokens"])
            cost = cost_usd(prices, TokenUsage(row["input_tokens"], row["output_tokens"], cached, written))
            if cost is None:
                total = None
                break
            total += cost
            source = prices.source
        per_task = float(total) / n if total is not None else None
        if per_task is not None:
            api_costs[cfg.name] = per_task
        out.append({"model": cfg.name, "kind": "api", "cost_usd_per_task": per_task,
                    "cost_usd_per_day": per_task * tasks_per_day if per_task is not None else None,
                    "task_s": None, "energy_j_per_task": None, "basis": source or "no price found",
                    "cheapest_api_break_even_tasks_per_day": None, "cheapest_api": None, "break_even_verdict": None})
    cheapest_api = min(api_costs.items(), key=lambda item: item[1]) if api_costs else None
    for name, fit in fits.items():
        entry = manifest["models"][name]
        params = LocalCostParams(**entry["local_cost"])
        task_s, energy_j = fit.task_s(mean_in, mean_out), fit.energy_j(mean_in, mean_out)
        per_task = local_task_cost_usd(params, energy_j, task_s)
        per_day = local_cost_per_day_usd(params, tasks_per_day, energy_j, task_s, _idle_w(entry)) \
            if energy_j is not None else None
        even = None
        n_ctx = (entry.get("load") or {}).get("n_ctx")
        too_long = f"; {mean_in + mean_out:,.0f} tokens exceed its n_ctx {n_ctx}" if n_ctx and mean_in + mean_out > n_ctx else ""
        if cheapest_api is not None and energy_j is not None:
            even = break_even_tasks_per_day(params, energy_j, task_s, _idle_w(entry), cheapest_api[1])
        out.append({"model": name, "kind": "local", "cost_usd_per_task": per_task, "cost_usd_per_day": per_day,
                    "task_s": task_s, "energy_j_per_task": energy_j,
                    "basis": f"fit from {fit.n_requests} requests (E2E error {fit.e2e_error:.0%}"
                             + (f", energy error {fit.energy_error:.0%})" if fit.energy_error is not None else ")")
                             + ("" if per_day is not None else "; the volume is beyond one machine's capacity")
                             + too_long,
                    "cheapest_api_break_even_tasks_per_day": even["tasks_per_day"] if even else None,
                    "break_even_verdict": even["verdict"] if even else None,
                    "cheapest_api": cheapest_api[0] if cheapest_api else None})
    return pd.DataFrame(out)
