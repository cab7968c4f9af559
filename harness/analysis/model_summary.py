"""Summaries derived from raw records and the run manifest (pandas). Nothing here is stored back.

- accuracy = correct / attempted, where attempted = scored requests (verdict `correct` or `incorrect`) plus
  failed requests of scored tasks plus checker errors: a failure is a task not got right (`n_errors`,
  `n_checker_errors` count them, shown as "N failed" beside the figure). `accuracy_of_answered` = correct /
  scored is the same figure over the requests that got a verdict, always shown labelled as such.
- percentiles: linear interpolation over the requests that have the metric.
- energy per request: the sum of its window's readings, labelled with their sources joined by '+'. Where
  requests overlapped (concurrency > 1) they have no window of their own: the model-level window is split
  by each request's share of tokens (input + output), labelled `...(token share)`. Net energy subtracts
  the idle baseline: idle watts x window seconds.
- J per output token = total energy / total output tokens; Wh per 1k tasks = mean J per task / 3.6.
- $ per 1M output tokens = total cost / total output tokens x 1e6; $ per correct task = total cost / correct
  tasks (over requests whose cost is known; `n_cost_unknown` counts the others).
- energy ranges and carbon (gCO2e) per request and per model: `harness.analysis.emissions` (API: EcoLogits'
  min–max estimate; local: energy x PUE x grid intensity), in their own columns, labelled in `carbon_source`.
- roofline share = decode tok/s p50 / (memory bandwidth / weights bytes), see `harness.energy.roofline`.
- intervals: seeded bootstrap over tasks (`harness.analysis.stats`): accuracy, $ per correct task, and the paired
  accuracy difference of every two models; `agreement` is the share of tasks whose repetitions agree.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pandas as pd

from harness.analysis.emissions import (
    RANGE_COLUMNS,
    api_estimate_columns,
    attach_local_carbon,
    carbon_summary,
    ensure_columns,
)
from harness.analysis.load_levels import attribute_levels, share_by_tokens
from harness.analysis.request_metrics import METRIC_NAMES, request_metrics
from harness.analysis.stats import (
    accuracy_interval,
    agreement,
    answered_mask,
    attempted_mask,
    cost_per_correct_interval,
    separation,
)
from harness.energy import window_total
from harness.energy.roofline import roofline_share

METRIC_COLUMNS = METRIC_NAMES
NUMERIC_COLUMNS = ("input_tokens", "output_tokens", "cost_usd", "energy_j", "energy_net_j", *METRIC_COLUMNS,
                   "chunk_gaps", "chunks_coalesced")


def _idle_w(entry: dict[str, Any]) -> float | None:
    idle = entry.get("idle")
    return sum(r["w"] for r in idle["readings"]) if idle else None


def records_frame(records: list[dict[str, Any]], manifest: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per record: identity, counts, verdict, cost, energy and the derived per-request metrics."""
    models = (manifest or {}).get("models", {})
    rows = []
    for record in records:
        energy_j, source = window_total(record.get("energy"))
        idle_w = _idle_w(models.get(record["model"], {}))
        net = None
        if energy_j is not None and idle_w is not None:
            net = energy_j - idle_w * (record["energy"].get("window_s") or 0.0)
        row = {
            "model": record["model"], "suite": record.get("suite"), "task_id": record["task_id"],
            "repetition": record["repetition"], "level": record.get("level"),
            "input_tokens": record.get("input_tokens"), "output_tokens": record.get("output_tokens"),
            "verdict": record.get("verdict"), "failed": record.get("error") is not None,
            "checker": record.get("checker"),
            "cost_usd": record.get("cost_usd"), "energy_j": energy_j, "energy_net_j": net,
            "energy_source": source,
        }
        row.update(api_estimate_columns(record))
        if row["carbon_source"] != "unavailable" and energy_j is None:
            row["energy_source"] = row["carbon_source"]  # the API's estimate labels its energy range too
        row.update(request_metrics(record))
        stamps = record.get("chunk_offsets_ns") or []
        # chunks stamped with the one before them arrived in the same read (the load generator's self-watch)
        row["chunk_gaps"] = max(len(stamps) - 1, 0)
        row["chunks_coalesced"] = sum(1 for a, b in pairwise(stamps) if a == b)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["model", "suite", "task_id", "repetition", "level", "verdict", "failed",
                                        "checker",
                                        "energy_source", *NUMERIC_COLUMNS, "carbon_source", *RANGE_COLUMNS])
    frame["failed"] = frame["failed"].astype(bool)  # an empty object column would select columns, not rows
    frame["task_key"] = frame["suite"].fillna("").astype(str) + "/" + frame["task_id"].astype(str)
    for column in NUMERIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    ensure_columns(frame)
    attribute_levels(frame, models)
    _attribute_shared_windows(frame, models)
    attach_local_carbon(frame, models)
    return frame


def _attribute_shared_windows(frame: pd.DataFrame, models: dict[str, Any]) -> None:
    """Split a model-level window over its overlapping requests by their share of tokens."""
    for name, entry in models.items():
        rows = frame["model"] == name
        total_j, source = window_total(entry.get("energy_window"))
        if total_j is None or entry.get("levels") or frame.loc[rows, "energy_j"].notna().any() or not rows.any():
            continue
        share_by_tokens(frame, rows, total_j, source)


def _percentile(series: pd.Series, q: float) -> float | None:
    values = series.dropna()
    return float(values.quantile(q / 100, interpolation="linear")) if len(values) else None


def _ratio(numerator: float | None, denominator: float | None, scale: float = 1.0) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator * scale


def _node_bandwidth(entry: dict[str, Any], host_gbs: float | None) -> float | None:
    """The CPU memory bandwidth of the machine that ran the model: its Ray node's, or the run's host's."""
    node = ((entry.get("node") or {}).get("memory_bandwidth") or {}).get("cpu") or {}
    return node.get("gbs") or host_gbs


def _sum(series: pd.Series) -> float | None:
    return float(series.sum()) if series.notna().any() else None


def summarize(records: list[dict[str, Any]], manifest: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per model (in first-seen order): counts, accuracy, latency, speed, tokens, energy, cost, roofline."""
    return summarize_frame(records_frame(records, manifest), manifest)


def summarize_frame(frame: pd.DataFrame, manifest: dict[str, Any] | None = None) -> pd.DataFrame:
    """`summarize` over an already built `records_frame`."""
    models = (manifest or {}).get("models", {})
    bandwidth = (((manifest or {}).get("host") or {}).get("memory_bandwidth") or {}).get("cpu", {}).get("gbs")
    rows = []
    for model, group in frame.groupby("model", sort=False):
        entry = models.get(model, {})
        n_correct = int((group["verdict"] == "correct").sum())
        n_scored = int(answered_mask(group).sum())
        n_attempted = int(attempted_mask(group).sum())
        with_energy = group[group["energy_j"].notna()]
        with_cost = group[group["cost_usd"].notna()]
        energy_total = _sum(with_energy["energy_j"])
        cost_total = _sum(with_cost["cost_usd"])
        decode_p50 = _percentile(group["output_tok_per_s"], 50)
        accuracy_ci = accuracy_interval(group)
        cost_ci = cost_per_correct_interval(group)
        on_cpu = (entry.get("load") or {}).get("device") == "cpu"
        rows.append({
            "model": model,
            "kind": entry.get("kind"),
            "device": (entry.get("load") or {}).get("device"),
            "n_requests": len(group),
            "n_errors": int(group["failed"].sum()),
            "n_checker_errors": int((group["verdict"] == "error").sum()),
            "n_scored": n_scored,
            "n_attempted": n_attempted,
            "n_correct": n_correct,
            "accuracy": n_correct / n_attempted if n_attempted else None,
            "accuracy_of_answered": n_correct / n_scored if n_scored else None,
            "accuracy_ci_low": accuracy_ci[0],
            "accuracy_ci_high": accuracy_ci[1],
            "agreement": agreement(group),
            "ttft_p50_s": _percentile(group["ttft_s"], 50),
            "ttft_p90_s": _percentile(group["ttft_s"], 90),
            "e2e_p50_s": _percentile(group["e2e_s"], 50),
            "e2e_mean_s": float(group["e2e_s"].mean()) if group["e2e_s"].notna().any() else None,
            "itl_p50_s": _percentile(group["itl_s"], 50),
            "output_tok_per_s_p50": decode_p50,
            "ttfat_p50_s": _percentile(group["ttfat_s"], 50),
            "e2e_output_tok_per_s_p50": _percentile(group["e2e_output_tok_per_s"], 50),
            "input_tokens": _sum(group["input_tokens"]),
            "output_tokens": _sum(group["output_tokens"]),
            "energy_source": "+".join(sorted(set(group["energy_source"]))),
            "energy_j_per_task": float(with_energy["energy_j"].mean()) if len(with_energy) else None,
            "energy_net_j_per_task": float(with_energy["energy_net_j"].mean()) if with_energy["energy_net_j"].notna().any() else None,
            "energy_j_per_output_token": _ratio(energy_total, _sum(with_energy["output_tokens"])),
            "wh_per_1k_tasks": float(with_energy["energy_j"].mean()) / 3.6 if len(with_energy) else None,
            "idle_w": _idle_w(entry),
            "cost_usd_total": cost_total,
            "cost_usd_per_task": float(with_cost["cost_usd"].mean()) if len(with_cost) else None,
            "cost_usd_per_mtok_output": _ratio(cost_total, _sum(with_cost["output_tokens"]), 1e6),
            "cost_usd_per_correct": _ratio(cost_total, int((with_cost["verdict"] == "correct").sum())),
            "cost_usd_per_correct_ci_low": cost_ci[0],
            "cost_usd_per_correct_ci_high": cost_ci[1],
            "cost_basis": "energy + hardware" if entry.get("local_cost") else
                          ("list price" if entry.get("kind") in ("openai", "anthropic") else None),
            "n_cost_unknown": int(group["cost_usd"].isna().sum()),
            "roofline_share": roofline_share(decode_p50, (entry.get("weights") or {}).get("size_bytes"),
                                             _node_bandwidth(entry, bandwidth) if on_cpu else None),
            **carbon_summary(group),
        })
    return pd.DataFrame(rows)


def accuracy_separation(records: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Paired accuracy differences between every two models, with 95% intervals (`harness.analysis.stats`)."""
    frame = records if isinstance(records, pd.DataFrame) else records_frame(records)
    return separation(frame, list(dict.fromkeys(frame["model"])))
