"""Summaries derived from raw records (pandas). Nothing here is stored back into records.

Accuracy = correct / scored, where scored = requests that finished and got a `correct` or `incorrect`
verdict; requests that failed and checker errors are counted apart (`n_errors`, `n_checker_errors`).
Percentiles are numpy's linear-interpolation percentiles over the requests that have the metric.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd

from harness.metrics import request_metrics
from harness.pricing import RequestPricer, TokenUsage, cost_usd

METRIC_COLUMNS = ("ttft_s", "e2e_s", "itl_s", "tpot_s", "output_tok_per_s", "prompt_tok_per_s")


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: identity, counts, verdict, error flag and the derived per-request metrics."""
    rows = []
    for record in records:
        row = {
            "model": record["model"], "task_id": record["task_id"], "repetition": record["repetition"],
            "input_tokens": record.get("input_tokens"), "output_tokens": record.get("output_tokens"),
            "verdict": record.get("verdict"), "failed": record.get("error") is not None,
            "cost_usd": record.get("cost_usd"),
        }
        row.update(request_metrics(record))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[
        "model", "task_id", "repetition", "input_tokens", "output_tokens", "verdict", "failed", "cost_usd",
        *METRIC_COLUMNS,
    ])
    for column in ("input_tokens", "output_tokens", "cost_usd", *METRIC_COLUMNS):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _percentile(series: pd.Series, q: float) -> float | None:
    values = series.dropna()
    return float(values.quantile(q / 100, interpolation="linear")) if len(values) else None


def summarize(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per model (in first-seen order): counts, accuracy, latency percentiles, speed, tokens in/out."""
    frame = records_frame(records)
    rows = []
    for model, group in frame.groupby("model", sort=False):
        n_correct = int((group["verdict"] == "correct").sum())
        n_scored = int(group["verdict"].isin(["correct", "incorrect"]).sum())
        rows.append({
            "model": model,
            "n_requests": len(group),
            "n_errors": int(group["failed"].sum()),
            "n_checker_errors": int((group["verdict"] == "error").sum()),
            "n_scored": n_scored,
            "n_correct": n_correct,
            "accuracy": n_correct / n_scored if n_scored else None,
            "ttft_p50_s": _percentile(group["ttft_s"], 50),
            "ttft_p90_s": _percentile(group["ttft_s"], 90),
            "e2e_p50_s": _percentile(group["e2e_s"], 50),
            "itl_p50_s": _percentile(group["itl_s"], 50),
            "output_tok_per_s_p50": _percentile(group["output_tok_per_s"], 50),
            "input_tokens": int(group["input_tokens"].sum(min_count=1)) if group["input_tokens"].notna().any() else None,
            "output_tokens": int(group["output_tokens"].sum(min_count=1)) if group["output_tokens"].notna().any() else None,
            # Cost over requests whose cost is known; n_cost_unknown says how many are not covered.
            "cost_usd_total": float(group["cost_usd"].sum()) if group["cost_usd"].notna().any() else None,
            "cost_usd_per_task": float(group["cost_usd"].mean()) if group["cost_usd"].notna().any() else None,
            "n_cost_unknown": int(group["cost_usd"].isna().sum()),
        })
    return pd.DataFrame(rows)


def projected_costs(records: list[dict[str, Any]], models: list[Any], suite: Any,
                    when: dt.datetime | None = None) -> pd.DataFrame:
    """Projected (not measured) cost of the suite for API models that did not run, at list price.

    Token counts per task are the mean of the measured requests of that task in this run (input and output
    as the measured models tokenized them); with no measured request, input is estimated as characters / 4
    and output as the task's max_tokens. `basis` says which.
    """
    when = when or dt.datetime.now(dt.timezone.utc)
    frame = records_frame(records)
    measured = frame[~frame["failed"]].groupby("task_id")[["input_tokens", "output_tokens"]].mean()
    rows = []
    for cfg in models:
        pricer = RequestPricer(cfg, warn=lambda message: None)
        total, basis = Decimal(0), "measured token counts of this run"
        prices = None
        for task in suite.tasks:
            if task.id in measured.index and measured.loc[task.id].notna().all():
                n_in, n_out = (round(float(v)) for v in measured.loc[task.id])
            else:
                n_in = sum(len(m.content) for m in task.messages) // 4
                n_out, basis = task.max_tokens, "estimated token counts (chars/4, max_tokens)"
            prices = pricer.quote(when, n_in)
            cost = cost_usd(prices, TokenUsage(n_in, n_out))
            if cost is None:
                total = None
                break
            total += cost
        rows.append({
            "model": cfg.name, "api_model": cfg.model,
            "cost_usd_per_task": float(total) / len(suite.tasks) if total is not None else None,
            "cost_usd_suite": float(total) if total is not None else None,
            "basis": basis, "price_source": prices.source if prices else None,
        })
    return pd.DataFrame(rows, columns=["model", "api_model", "cost_usd_per_task", "cost_usd_suite", "basis",
                                       "price_source"])
