"""Benchmark figures from records: each model's metrics per suite with 95% intervals, the sample size, and
accuracy by subject and by group of subjects (MMLU's categories).

A record's `scores` (named sub-metrics from its checker) aggregate by type: a bool or number is averaged
over scored records; a list of bools is pooled (all True over all items, e.g. IFEval's instruction-level
accuracy). Repetitions of a task are combined inside the task first and the interval resamples tasks
(`harness.analysis.stats`), as for accuracy. A `pass` score (HumanEval) with n >= 2 repetitions of every task
also gives pass@k for k = 2, 5, 10, 100 up to n, by the unbiased estimator (`harness.analysis.passk`):
meaningful when the repetitions were sampled at temperature > 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.passk import pass_at_k
from harness.analysis.stats import UNSCORED_CHECKER, bootstrap_mean_ci, bootstrap_ratio_ci

SCORED = ("correct", "incorrect")
HEADLINE = {"humaneval": "pass@1", "loglikelihood": "acc"}  # the verdict's name where the field has one
# HumanEval asked through chat messages is scored with the harness's own chat protocol (a code block in the
# reply), not lm-eval's `humaneval_instruct` (assistant prefill): its figure carries that label everywhere.
HARNESS_CHAT_LABEL = "pass@1 (harness chat protocol)"
METRIC_COLUMNS = ["suite", "model", "score_form", "metric", "value", "ci_low", "ci_high", "n_tasks", "n_selected",
                  "n_total"]
BREAKDOWN_COLUMNS = ["suite", "model", "by", "name", "accuracy", "ci_low", "ci_high", "n_tasks"]


def _scored(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("error") is None and r.get("verdict") in SCORED]


def _attempted(record: dict[str, Any]) -> bool:
    """Counted by the headline metric: scored, a checker error, or a failed request of a scored task (the last
    two as not correct, as `harness.analysis.stats.attempted_mask` counts them)."""
    if record.get("error") is not None:
        return record.get("checker") != UNSCORED_CHECKER
    return record.get("verdict") in (*SCORED, "error")


def _score_parts(value: Any) -> tuple[float, float] | None:
    """(numerator, denominator) one score contributes: a list of bools pools, a bool or number counts once."""
    if isinstance(value, list):
        return (float(sum(bool(v) for v in value)), float(len(value))) if value else None
    if isinstance(value, (bool, int, float)) and not isinstance(value, str):
        return float(value), 1.0
    return None


def _metric(name: str, by_task: dict[str, list[tuple[float, float]]], pooled: bool) -> dict[str, Any]:
    tops = np.array([sum(p[0] for p in parts) for parts in by_task.values()])
    bottoms = np.array([sum(p[1] for p in parts) for parts in by_task.values()])
    if pooled:
        value = float(tops.sum() / bottoms.sum()) if bottoms.sum() else None
        low, high = bootstrap_ratio_ci(tops, bottoms)
    else:
        means = tops / bottoms
        value = float(means.mean()) if len(means) else None
        low, high = bootstrap_mean_ci(means)
    return {"metric": name, "value": value, "ci_low": low, "ci_high": high, "n_tasks": len(by_task)}


def score_metrics(records: list[dict[str, Any]], manifest: dict[str, Any]) -> pd.DataFrame:
    """Per suite and model: accuracy (the checker's verdict; failed requests and checker errors count as not
    correct) and every named score (over the requests that got a verdict), with 95% intervals and the sample
    size (`n_selected` of `n_total` items)."""
    sizes = {s["name"]: (s.get("n_tasks"), s.get("n_total") or s.get("n_tasks")) for s in manifest.get("suites", [])}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in (r for r in records if _attempted(r)):
        groups.setdefault((record.get("suite"), record["model"]), []).append(record)
    rows = []
    for (suite, model), group in sorted(groups.items()):
        accuracy: dict[str, list[tuple[float, float]]] = {}
        scores: dict[str, dict[str, list[tuple[float, float]]]] = {}
        pooled: dict[str, bool] = {}
        for record in group:
            accuracy.setdefault(record["task_id"], []).append((float(record.get("verdict") == "correct"), 1.0))
            if record.get("error") is not None or record.get("verdict") not in SCORED:
                if record.get("checker") == "humaneval":  # a failed sample did not pass: pass@k counts it
                    scores.setdefault("pass", {}).setdefault(record["task_id"], []).append((0.0, 1.0))
                    pooled.setdefault("pass", False)
                continue  # no other score from a request that failed or whose checker broke
            for name, value in (record.get("scores") or {}).items():
                parts = _score_parts(value)
                if parts is not None:
                    scores.setdefault(name, {}).setdefault(record["task_id"], []).append(parts)
                    pooled[name] = pooled.get(name, False) or isinstance(value, list)
        n_selected, n_total = sizes.get(suite, (None, None))
        # generative (a reply checked) or loglikelihood (options scored by the model's log-probabilities)
        base = {"suite": suite, "model": model, "score_form": group[0].get("score_form") or "generative",
                "n_selected": n_selected, "n_total": n_total}
        rows.append({**base, **_metric(_headline(group[0].get("checker"), model, manifest), accuracy, pooled=False)})
        for name in sorted(scores):
            if name == "pass" and group[0].get("checker") == "humaneval":
                continue  # the verdict itself (pass@1), shown once
            rows.append({**base, **_metric(name, scores[name], pooled[name])})
        if "pass" in scores and not pooled["pass"]:
            rows += [{**base, **row} for row in _pass_at_k(scores["pass"])]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _headline(checker: str | None, model: str, manifest: dict[str, Any]) -> str:
    name = HEADLINE.get(checker, "accuracy")
    if checker == "humaneval":
        config = (manifest.get("models", {}).get(model) or {}).get("config")
        if config is not None and config.get("prompt_style", "chat") != "completion":
            return HARNESS_CHAT_LABEL
    return name


def is_headline(metric: str) -> bool:
    """Whether a metric row is a suite's headline (accuracy, pass@1 under any protocol label)."""
    return metric in ("accuracy", "pass@1", HARNESS_CHAT_LABEL)


def _pass_at_k(by_task: dict[str, list[tuple[float, float]]]) -> list[dict[str, Any]]:
    n = min(len(parts) for parts in by_task.values())
    rows = []
    for k in (k for k in (2, 5, 10, 100) if k <= n):
        values = np.array([pass_at_k(len(parts), int(sum(p[0] for p in parts)), k) for parts in by_task.values()])
        low, high = bootstrap_mean_ci(values)
        rows.append({"metric": f"pass@{k}", "value": float(values.mean()), "ci_low": low, "ci_high": high,
                     "n_tasks": len(by_task)})
    return rows


def subject_breakdown(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Accuracy by subject and by group of subjects, per suite and model, for suites whose tasks have groups
    (MMLU: subjects and the four categories); each with its 95% interval over the tasks in it."""
    rows = []
    scored = [r for r in _scored(records) if r.get("subject_group")]
    frame = pd.DataFrame([{"suite": r.get("suite"), "model": r["model"], "task_id": r["task_id"],
                           "subject": r.get("subject"), "group": r["subject_group"],
                           "correct": float(r["verdict"] == "correct")} for r in scored])
    if frame.empty:
        return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    per_task = frame.groupby(["suite", "model", "subject", "group", "task_id"], as_index=False)["correct"].mean()
    for by in ("group", "subject"):
        for (suite, model, name), part in per_task.groupby(["suite", "model", by]):
            low, high = bootstrap_mean_ci(part["correct"].to_numpy())
            rows.append({"suite": suite, "model": model, "by": by, "name": name,
                         "accuracy": float(part["correct"].mean()), "ci_low": low, "ci_high": high,
                         "n_tasks": len(part)})
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)


def form_label(records: list[dict[str, Any]]) -> str:
    """How a benchmark's figures were scored: 'log-likelihood' (options ranked by the model's log-probabilities,
    lm-eval's multiple_choice), 'generative' (a generated reply checked), or both, with their models."""
    forms: dict[str, set[str]] = {}
    for record in records:
        forms.setdefault(record.get("score_form") or "generative", set()).add(record["model"])
    if len(forms) <= 1:
        return next(iter(forms), "generative").replace("loglikelihood", "log-likelihood")
    return "; ".join(f"{form.replace('loglikelihood', 'log-likelihood')}: {', '.join(sorted(models))}"
                     for form, models in sorted(forms.items()))


def sample_label(n_selected: int | None, n_total: int | None) -> str:
    """'164 items', or 'sample of 20 of 164'."""
    if n_selected is None:
        return ""
    if n_total is None or n_selected == n_total:
        return f"{n_selected:,} items"
    return f"sample of {n_selected:,} of {n_total:,}"
