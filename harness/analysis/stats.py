"""Uncertainty: seeded bootstrap intervals over tasks, paired model differences, repetition agreement.

Resampling is over tasks (the unit that was sampled from the space of possible tasks); repetitions of a
task (`--repeat N`) are averaged inside it first, so they narrow the interval only as much as they
really reduce noise. Intervals are percentile intervals of `N_RESAMPLES` resamples with a fixed seed, so
the same records always give the same interval. Two models are "separated" when the 95% interval of
their paired per-task accuracy difference excludes 0.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

N_RESAMPLES = 2000
SEED = 20261201
LEVEL = 0.95


@functools.lru_cache(maxsize=2)
def _resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    # Cached: every model of a run has the same tasks, so one draw of indices serves them all.
    indices = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n), dtype=np.int32)
    indices.flags.writeable = False
    return indices


def bootstrap_mean_ci(values: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                      level: float = LEVEL) -> tuple[float | None, float | None]:
    """Percentile interval of the mean of `values` (one value per task).

    With few distinct values (correctness 0/1, or shares of a few repetitions) a resample is fully
    described by how often each value is drawn, a multinomial draw: the same distribution as resampling
    indices, at a cost independent of the number of tasks.
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return None, None
    levels, counts = np.unique(values, return_counts=True)
    if len(levels) <= 64:
        draws = np.random.default_rng(seed).multinomial(len(values), counts / len(values), size=n_resamples)
        means = draws @ levels / len(values)
    else:
        means = values[_resample_indices(len(values), n_resamples, seed)].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ratio_ci(numerator: np.ndarray, denominator: np.ndarray, n_resamples: int = N_RESAMPLES,
                       seed: int = SEED, level: float = LEVEL) -> tuple[float | None, float | None]:
    """Percentile interval of sum(numerator) / sum(denominator), resampling tasks; resamples with a zero
    denominator (no correct task drawn) are left out."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    if len(numerator) == 0 or denominator.sum() == 0:
        return None, None
    index = _resample_indices(len(numerator), n_resamples, seed)
    top = numerator.astype(np.float32)[index].sum(axis=1, dtype=np.float64)
    bottom = denominator.astype(np.float32)[index].sum(axis=1, dtype=np.float64)
    ratios = top[bottom > 0] / bottom[bottom > 0]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    # The values were summed as float32 (half the memory on 100k tasks): 7 significant digits are all they
    # carry, so the bounds are rounded to them, and an interval over one task equals its exact cost.
    return float(f"{low:.7g}"), float(f"{high:.7g}")


SCORED_VERDICTS = ("correct", "incorrect")
UNSCORED_CHECKER = "none"  # a workload task: no answer to check, so a failure there is no accuracy's business


def attempted_mask(frame: pd.DataFrame) -> pd.Series:
    """The requests an accuracy counts: scored ones, checker errors, and failed requests of scored tasks. A
    failure or a checker error is a task the model did not get right, so it stays in the denominator as not
    correct (4 correct of 10 with 2 failed is 40%, not 50%)."""
    checker = frame["checker"] if "checker" in frame else pd.Series(None, index=frame.index, dtype=object)
    failed_scored = _failed(frame) & (checker.fillna("") != UNSCORED_CHECKER)
    return frame["verdict"].isin([*SCORED_VERDICTS, "error"]) | failed_scored


def answered_mask(frame: pd.DataFrame) -> pd.Series:
    """The requests that finished with a verdict of correct or incorrect (the "of answered" denominator)."""
    return frame["verdict"].isin(SCORED_VERDICTS) & ~_failed(frame)


def _failed(frame: pd.DataFrame) -> pd.Series:
    if "failed" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["failed"].fillna(False).astype(bool)


def per_task_correct(frame: pd.DataFrame) -> pd.Series:
    """Share of attempted repetitions that were correct, per task (failed requests and checker errors count as
    not correct; tasks with no attempted request, such as unscored workload tasks, are left out)."""
    attempted = frame[attempted_mask(frame)]
    return (attempted["verdict"] == "correct").groupby(attempted["task_key"]).mean()


def accuracy_interval(frame: pd.DataFrame) -> tuple[float | None, float | None]:
    """95% bootstrap interval of one model's accuracy over its tasks."""
    return bootstrap_mean_ci(per_task_correct(frame).to_numpy())


def cost_per_correct_interval(frame: pd.DataFrame) -> tuple[float | None, float | None]:
    """95% bootstrap interval of total cost / correct tasks, over tasks with a known cost."""
    known = frame[frame["cost_usd"].notna()].assign(correct=lambda f: f["verdict"] == "correct")
    by_task = known.groupby("task_key")[["cost_usd", "correct"]].sum().rename(columns={"cost_usd": "cost"})
    return bootstrap_ratio_ci(by_task["cost"].to_numpy(), by_task["correct"].to_numpy())


def agreement(frame: pd.DataFrame) -> float | None:
    """Share of tasks whose repetitions all got the same verdict; None with a single repetition."""
    if frame["repetition"].nunique() < 2:
        return None
    same = frame.groupby("task_key")["verdict"].agg(lambda v: v.nunique(dropna=False) == 1)
    return float(same.mean())


def separation(frame: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """For each pair of models, the paired accuracy difference (a - b) over their common tasks, its 95%
    interval, and whether the interval excludes 0."""
    correct = {m: per_task_correct(frame[frame["model"] == m]) for m in models}
    rows = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            common = correct[a].index.intersection(correct[b].index)
            if len(common) == 0:
                continue
            diffs = (correct[a][common] - correct[b][common]).to_numpy()
            low, high = bootstrap_mean_ci(diffs)
            rows.append({"model_a": a, "model_b": b, "difference": float(diffs.mean()), "ci_low": low,
                         "ci_high": high, "separated": bool(low > 0 or high < 0), "n_tasks": len(common)})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "difference", "ci_low", "ci_high", "separated", "n_tasks"])
