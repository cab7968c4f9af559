"""Local models against API models: projected API costs for models that did not run, and break-even.

Projected cost: for an API model without a key, each task is priced at list price with the token counts
that the models of the same run measured for it (their mean), or, when none did, characters / 4 for input
and the task's max_tokens for output. `basis` says which. Projected figures are never mixed with measured
ones.

Break-even: for every local model and every API model (measured or projected), the tasks per day at which
their daily costs meet (`harness.cost.local`), with the machine's capacity and the idle-capacity cost.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd

from harness.analysis.model_summary import records_frame
from harness.analysis.served_capacity import served_capacity
from harness.cost.local import LocalCostParams, break_even_tasks_per_day, idle_capacity_cost_per_day_usd
from harness.cost.pricing import RequestPricer, TokenUsage, cost_usd

PROJECTED_COLUMNS = ["model", "api_model", "cost_usd_per_task", "cost_usd_suite", "basis", "price_source"]
TIER_COLUMNS = ["tier", "tier_cost_usd_per_task", "tier_cost_usd_suite", "tier_price_source"]


def _suite_cost(cfg: Any, tasks: list[tuple[str, Any]], measured: pd.DataFrame, when: dt.datetime,
                tier: str | None) -> tuple[Decimal | None, str, Any]:
    """(projected cost of the tasks or None, basis, last prices) for one API model in `tier` (None: its own)."""
    if tier is not None and getattr(cfg, "cost", None) is not None:  # a `cost:` override prices its own tier only
        return None, "", None
    pricer = RequestPricer(cfg, warn=lambda message: None, tier=tier)
    total: Decimal | None = Decimal(0)
    basis, prices = "measured token counts of this run", None
    seen_prefixes: set[str] = set()
    for suite_name, task in tasks:
        key = (suite_name, task.id)
        cached = written = 0
        if task.workload is not None:  # a synthetic request: its own token counts, its prefix cached
            n_in, n_out = task.workload.input_tokens, task.workload.output_tokens
            basis = "workload token counts; shared prefixes billed as cache reads after the first"
            if task.workload.prefix_id is not None:
                if task.workload.prefix_id in seen_prefixes:
                    cached = task.workload.prefix_tokens
                else:
                    seen_prefixes.add(task.workload.prefix_id)
                    written = task.workload.prefix_tokens if cfg.kind == "anthropic" else 0
        elif key in measured.index and measured.loc[key].notna().all():
            n_in, n_out = (round(float(v)) for v in measured.loc[key])
        else:
            n_in = sum(len(m.content) for m in task.messages) // 4
            n_out, basis = task.max_tokens, "estimated token counts (chars/4, max_tokens)"
        prices = pricer.quote(when, n_in)
        cost = cost_usd(prices, TokenUsage(n_in, n_out, cached, written))
        if cost is None:
            return None, basis, prices
        total += cost
    return total, basis, prices


def projected_costs(records: list[dict[str, Any]] | pd.DataFrame, models: list[Any], suites: list[Any],
                    when: dt.datetime | None = None, tier: str | None = None) -> pd.DataFrame:
    """Projected (not measured) cost of the suites for API models that did not run, at list price in each
    entry's own tier; with `tier` (batch, flex, priority), also in that tier beside it (`tier_*` columns:
    None where the provider has no such price)."""
    when = when or dt.datetime.now(dt.UTC)
    frame = records if isinstance(records, pd.DataFrame) else records_frame(records)
    measured = (frame[~frame["failed"]].groupby(["suite", "task_id"])[["input_tokens", "output_tokens"]].mean()
                if len(frame) else pd.DataFrame())
    tasks = [(suite.name, task) for suite in suites for task in suite.tasks]
    extra = tier is not None and tier != "standard"
    rows = []
    for cfg in models:
        total, basis, prices = _suite_cost(cfg, tasks, measured, when, None)
        row = {
            "model": cfg.name, "api_model": cfg.model,
            "cost_usd_per_task": float(total) / len(tasks) if total is not None and tasks else None,
            "cost_usd_suite": float(total) if total is not None else None,
            "basis": basis, "price_source": prices.source if prices else None,
        }
        if extra:
            tier_total, _, tier_prices = _suite_cost(cfg, tasks, measured, when, tier)
            row.update(tier=tier,
                       tier_cost_usd_per_task=float(tier_total) / len(tasks) if tier_total is not None and tasks else None,
                       tier_cost_usd_suite=float(tier_total) if tier_total is not None else None,
                       tier_price_source=tier_prices.source if tier_total is not None and tier_prices else None)
        rows.append(row)
    return pd.DataFrame(rows, columns=PROJECTED_COLUMNS + (TIER_COLUMNS if extra else []))


def break_even(summary: pd.DataFrame, manifest: dict[str, Any], projected: pd.DataFrame | None = None,
               levels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every local model against every API model with a cost per task (measured, else projected). A local
    model's capacity, machine time and energy per task come from its measured load levels where it has them
    (`levels`: analysis.levels.level_summary; which level, and why, in `capacity_basis`), else from its
    one-at-a-time requests (batch 1, labelled so)."""
    apis = [(r["model"], r["cost_usd_per_task"], "measured") for r in summary.to_dict("records")
            if r["cost_basis"] == "list price" and r["cost_usd_per_task"] is not None]
    if projected is not None:
        apis += [(r["model"], r["cost_usd_per_task"], "projected") for r in projected.to_dict("records")
                 if r["cost_usd_per_task"] is not None]
        # another service tier beside the list price (batch: the cheapest honest price for offline work)
        apis += [(f"{r['model']} ({r['tier']})", r["tier_cost_usd_per_task"], "projected")
                 for r in projected.to_dict("records") if pd.notna(r.get("tier_cost_usd_per_task"))]
    rows = []
    for local in summary.to_dict("records"):
        entry = manifest["models"].get(local["model"], {})
        if not entry.get("local_cost") or local["energy_j_per_task"] is None or local["e2e_mean_s"] is None:
            continue
        params = LocalCostParams(**entry["local_cost"])
        idle_w = local["idle_w"] or 0.0
        slos_s = (manifest.get("settings") or {}).get("slos") or {}
        served = served_capacity(local["model"], entry, levels, slos_s, local["e2e_mean_s"], local["energy_j_per_task"])
        task_s = served.task_s
        energy_j = served.energy_j_per_task if served.energy_j_per_task is not None else local["energy_j_per_task"]
        for api, api_cost, basis in apis:
            result = break_even_tasks_per_day(params, energy_j, task_s, idle_w, api_cost)
            rows.append({
                "local_model": local["model"], "api_model": api, "api_cost_basis": basis,
                "api_cost_usd_per_task": api_cost, "local_cost_usd_per_task": local["cost_usd_per_task"],
                "break_even_tasks_per_day": result["tasks_per_day"],
                "capacity_tasks_per_day": result["capacity_tasks_per_day"], "verdict": result["verdict"],
                "idle_capacity_usd_per_day": idle_capacity_cost_per_day_usd(params, idle_w),
                "utilisation": params.utilisation, "energy_source": local["energy_source"],
                "capacity_level": served.level, "capacity_basis": served.basis,
            })
    return pd.DataFrame(rows)



def same_weights(summary: pd.DataFrame, manifest: dict[str, Any], records: list[dict[str, Any]]) -> pd.DataFrame:
    """For models whose weights file has the same sha256 (one GGUF through two runtimes): the ratios of
    their speed, energy and cost (B / A), and how often their greedy outputs agree exactly."""
    by_hash: dict[str, list[str]] = {}
    for name, entry in manifest.get("models", {}).items():
        digest = (entry.get("weights") or {}).get("sha256")
        if digest:
            by_hash.setdefault(digest, []).append(name)
    outputs = {(r["model"], r.get("suite"), r["task_id"], r["repetition"]): r.get("output_text", "").strip()
               for r in records if r.get("error") is None}
    rows_by_model = {row["model"]: row for row in summary.to_dict("records")}

    def ratio(a: dict, b: dict, key: str) -> float | None:
        return b[key] / a[key] if a.get(key) and b.get(key) is not None else None

    rows = []
    for digest, names in by_hash.items():
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if a not in rows_by_model or b not in rows_by_model:
                    continue
                ra, rb = rows_by_model[a], rows_by_model[b]
                common = [k[1:] for k in outputs if k[0] == a and (b, *k[1:]) in outputs]
                agree = sum(outputs[(a, *k)] == outputs[(b, *k)] for k in common)
                rows.append({
                    "weights_sha256": digest, "model_a": a, "model_b": b,
                    "runtime_a": (manifest["models"][a].get("load") or {}).get("runtime"),
                    "runtime_b": (manifest["models"][b].get("load") or {}).get("runtime"),
                    "output_tok_per_s_ratio": ratio(ra, rb, "output_tok_per_s_p50"),
                    "ttft_ratio": ratio(ra, rb, "ttft_p50_s"),
                    "energy_ratio": ratio(ra, rb, "energy_j_per_task"),
                    "cost_ratio": ratio(ra, rb, "cost_usd_per_task"),
                    "n_compared": len(common), "output_agreement": agree / len(common) if common else None,
                })
    return pd.DataFrame(rows, columns=["weights_sha256", "model_a", "model_b", "runtime_a", "runtime_b",
                                       "output_tok_per_s_ratio", "ttft_ratio", "energy_ratio", "cost_ratio",
                                       "n_compared", "output_agreement"])
