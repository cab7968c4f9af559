"""Summaries derived from raw records (pandas). Nothing here is stored back into records.

Accuracy = correct / scored, where scored = requests that finished and got a `correct` or `incorrect`
verdict; requests that failed and checker errors are counted apart (`n_errors`, `n_checker_errors`).
Percentiles are numpy's linear-interpolation percentiles over the requests that have the metric.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.metrics import request_metrics

METRIC_COLUMNS = ("ttft_s", "e2e_s", "itl_s", "tpot_s", "output_tok_per_s", "prompt_tok_per_s")


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: identity, counts, verdict, error flag and the derived per-request metrics."""
    rows = []
    for record in records:
        row = {
            "model": record["model"], "task_id": record["task_id"], "repetition": record["repetition"],
            "input_tokens": record.get("input_tokens"), "output_tokens": record.get("output_tokens"),
            "verdict": record.get("verdict"), "failed": record.get("error") is not None,
        }
        row.update(request_metrics(record))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[
        "model", "task_id", "repetition", "input_tokens", "output_tokens", "verdict", "failed", *METRIC_COLUMNS,
    ])
    for column in ("input_tokens", "output_tokens", *METRIC_COLUMNS):
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
        })
    return pd.DataFrame(rows)
