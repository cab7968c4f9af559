"""Did anything regress between a baseline run and a current run? A noise-aware verdict per model and metric.

For each model present in both runs and each metric, the statistic of the current run is compared with
the baseline's: the relative change (current / baseline - 1), or for accuracy the change in points. Its
95% interval comes from a paired cluster bootstrap over the tasks both runs share: each resample draws
tasks with replacement and takes all their requests (every repetition) from both runs, so the interval
reflects how much the runs' own repetitions and tasks vary, not the difference between task sets.

A metric regressed when the whole interval lies on the worse side *and* the change is at least the
metric's minimum effect; it improved in the mirror case; otherwise it is unchanged. So a shift the noise
explains is never a regression, and neither is a real but negligible one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.stats import N_RESAMPLES, SEED, attempted_mask


@dataclass(frozen=True)
class Metric:
    """A compared metric: the per-request column, the statistic, which direction is better, and how the
    change is expressed (relative, or absolute points for rates)."""

    name: str
    column: str
    statistic: str          # "median" or "mean"
    higher_is_better: bool
    relative: bool
    min_effect: float


# Default minimum effects. Two runs of the same configuration on a shared 2-core runner differ by 10-15% in
# speed (the machine, not the code), which the bootstrap over one run's requests cannot see; 20% keeps such
# drift from being called a regression. Set tighter values with --min-effect on quieter hardware.
METRICS = (
    Metric("output tok/s", "output_tok_per_s", "median", True, True, 0.20),
    Metric("TTFT", "ttft_s", "median", False, True, 0.20),
    Metric("accuracy", "correct", "mean", True, False, 0.05),
    Metric("$ per task", "cost_usd", "mean", False, True, 0.20),
    Metric("J per task", "energy_j", "mean", False, True, 0.20),
)
COMPARISON_COLUMNS = ["model", "metric", "baseline", "current", "change", "ci_low", "ci_high", "min_effect",
                      "relative", "verdict"]
EFFECT_KEYS = {"tok_s": "output tok/s", "ttft": "TTFT", "accuracy": "accuracy", "cost": "$ per task",
               "energy": "J per task"}


def parse_min_effects(text: str | None) -> dict[str, float]:
    """`tok_s=0.2,ttft=0.2,accuracy=0.05,cost=0.2,energy=0.2` -> {metric name: minimum effect}."""
    effects: dict[str, float] = {}
    for part in filter(None, (text or "").split(",")):
        key, _, value = part.partition("=")
        if key.strip() not in EFFECT_KEYS:
            raise ValueError(f"unknown metric {key.strip()!r} (one of: {', '.join(EFFECT_KEYS)})")
        effects[EFFECT_KEYS[key.strip()]] = float(value)
    return effects


def _statistic(values: np.ndarray, kind: str, axis: int | None = None) -> np.ndarray:
    return np.nanmedian(values, axis=axis) if kind == "median" else np.nanmean(values, axis=axis)


def _task_matrix(frame: pd.DataFrame, column: str, tasks: list[str], width: int) -> np.ndarray:
    """tasks x repetitions matrix of a column (NaN where a repetition is missing)."""
    matrix = np.full((len(tasks), width), np.nan)
    position = {task: i for i, task in enumerate(tasks)}
    for (task, group) in frame.groupby("task_key"):
        if task in position:
            values = group[column].to_numpy(dtype=float)[:width]
            matrix[position[task], : len(values)] = values
    return matrix


def compare_model(base: pd.DataFrame, current: pd.DataFrame, metric: Metric, min_effect: float,
                  n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict:
    """Point change, 95% interval and verdict of one metric for one model."""
    tasks = sorted(set(base["task_key"]) & set(current["task_key"]))
    row = {"metric": metric.name, "baseline": None, "current": None, "change": None, "ci_low": None,
           "ci_high": None, "min_effect": min_effect, "relative": metric.relative, "verdict": "not compared"}
    if not tasks:
        return row
    width = int(max(base.groupby("task_key").size().max(), current.groupby("task_key").size().max()))
    b = _task_matrix(base, metric.column, tasks, width)
    c = _task_matrix(current, metric.column, tasks, width)
    if not tasks or np.isnan(b).all() or np.isnan(c).all():
        return row
    b_stat, c_stat = float(_statistic(b, metric.statistic)), float(_statistic(c, metric.statistic))
    if metric.relative and b_stat == 0:
        return {**row, "baseline": b_stat, "current": c_stat}
    index = np.random.default_rng(seed).integers(0, len(tasks), size=(n_resamples, len(tasks)))
    with np.errstate(all="ignore"):
        b_boot = _statistic(b[index].reshape(n_resamples, -1), metric.statistic, axis=1)
        c_boot = _statistic(c[index].reshape(n_resamples, -1), metric.statistic, axis=1)
        diffs = c_boot / b_boot - 1 if metric.relative else c_boot - b_boot
    diffs = diffs[np.isfinite(diffs)]
    change = c_stat / b_stat - 1 if metric.relative else c_stat - b_stat
    low, high = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    worse = (lambda x: x < 0) if metric.higher_is_better else (lambda x: x > 0)
    better = (lambda x: x > 0) if metric.higher_is_better else (lambda x: x < 0)
    verdict = "unchanged"
    if worse(low) and worse(high) and abs(change) >= min_effect:
        verdict = "regressed"
    elif better(low) and better(high) and abs(change) >= min_effect:
        verdict = "improved"
    return {**row, "baseline": b_stat, "current": c_stat, "change": change, "ci_low": low, "ci_high": high,
            "verdict": verdict}


def compare_runs(base: pd.DataFrame, current: pd.DataFrame, min_effects: dict[str, float] | None = None) -> pd.DataFrame:
    """Every model in both runs x every metric (frames from `records_frame`). Failed requests are left out of
    speed, latency, cost and energy; accuracy counts them, and checker errors, as not correct, as the summary does
    (`harness.analysis.stats.attempted_mask`)."""
    min_effects = min_effects or {}
    rows = []
    for frame in (base, current):
        frame["correct"] = (frame["verdict"] == "correct").where(attempted_mask(frame))
    for model in [m for m in dict.fromkeys(current["model"]) if m in set(base["model"])]:
        b_all, c_all = base[base["model"] == model], current[current["model"] == model]
        b, c = b_all[~b_all["failed"]], c_all[~c_all["failed"]]
        for metric in METRICS:
            pair = (b_all, c_all) if metric.column == "correct" else (b, c)
            result = compare_model(*pair, metric, min_effects.get(metric.name, metric.min_effect))
            rows.append({"model": model, **result})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def describe_change(row: dict) -> tuple[str, str, str]:
    """(change, 95% interval, minimum effect) of a comparison row as text: percent, or points for rates."""
    effect = f"{row['min_effect']:.0%}" if row["relative"] else f"{row['min_effect'] * 100:.0f} pts"
    change = row["change"]
    if change is None or change != change:
        return "–", "–", effect
    if row["relative"]:
        return f"{change:+.1%}", f"[{row['ci_low']:+.1%}, {row['ci_high']:+.1%}]", effect
    return f"{change * 100:+.1f} pts", f"[{row['ci_low'] * 100:+.1f}, {row['ci_high'] * 100:+.1f}]", effect
