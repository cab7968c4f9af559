"""Bootstrap intervals: coverage on synthetic data with a known rate, determinism, paired separation,
repetition agreement and cost per correct answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.analysis.stats import (
    accuracy_interval,
    agreement,
    bootstrap_mean_ci,
    bootstrap_ratio_ci,
    cost_per_correct_interval,
    separation,
)


@pytest.mark.parametrize(("rate", "n_tasks"), [(0.6, 100), (0.85, 60)])
def test_bootstrap_interval_covers_the_true_rate_about_95_percent_of_the_time(rate, n_tasks):
    data = np.random.default_rng(1)
    trials = 400
    covered = 0
    for trial in range(trials):
        outcomes = (data.random(n_tasks) < rate).astype(float)
        low, high = bootstrap_mean_ci(outcomes, n_resamples=1000, seed=trial)
        covered += low <= rate <= high
    coverage = covered / trials
    assert 0.90 <= coverage <= 0.98, coverage


def test_intervals_are_deterministic_and_shrink_with_more_tasks():
    outcomes = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 3, dtype=float)
    assert bootstrap_mean_ci(outcomes) == bootstrap_mean_ci(outcomes)
    small = np.subtract(*bootstrap_mean_ci(outcomes)[::-1])
    large = np.subtract(*bootstrap_mean_ci(np.tile(outcomes, 10))[::-1])
    assert large < small / 2


def _frame(model, verdicts, repetition=0, costs=None):
    return pd.DataFrame({"model": model, "task_id": [f"t{i}" for i in range(len(verdicts))],
                         "task_key": [f"s/t{i}" for i in range(len(verdicts))], "repetition": repetition,
                         "verdict": verdicts, "cost_usd": costs if costs is not None else [np.nan] * len(verdicts)})


def test_accuracy_interval_averages_repetitions_within_a_task():
    once = _frame("m", ["correct", "incorrect"] * 20)
    twice = pd.concat([once, once.assign(repetition=1)])
    assert accuracy_interval(once) == accuracy_interval(twice)   # repeats of the same answers add no information


def test_separation_of_clearly_different_and_of_close_models():
    good = _frame("good", ["correct"] * 45 + ["incorrect"] * 5)
    bad = _frame("bad", ["correct"] * 10 + ["incorrect"] * 40)
    close = _frame("close", ["correct"] * 44 + ["incorrect"] * 6)
    table = separation(pd.concat([good, bad, close]), ["good", "bad", "close"]).set_index(["model_a", "model_b"])
    assert table.loc[("good", "bad"), "separated"] and table.loc[("good", "bad"), "difference"] == pytest.approx(0.7)
    assert not table.loc[("good", "close"), "separated"]
    assert table.loc[("good", "close"), "ci_low"] <= 0 <= table.loc[("good", "close"), "ci_high"]


def test_agreement_across_repetitions():
    first = _frame("m", ["correct", "correct", "incorrect", "incorrect"])
    second = _frame("m", ["correct", "incorrect", "incorrect", "correct"], repetition=1)
    assert agreement(pd.concat([first, second])) == 0.5
    assert agreement(first) is None


def test_cost_per_correct_interval_contains_the_point_estimate():
    frame = _frame("m", ["correct", "incorrect"] * 25, costs=[0.002, 0.001] * 25)
    low, high = cost_per_correct_interval(frame)
    point = frame["cost_usd"].sum() / 25
    assert low <= point <= high and point == pytest.approx(0.003)
    assert bootstrap_ratio_ci(np.array([1.0]), np.array([0.0])) == (None, None)


def test_cost_per_correct_interval_covers_the_true_value_about_95_percent_of_the_time():
    # Synthetic tasks with a known truth: each costs U(0.001, 0.003) USD (mean 0.002) and is correct with
    # probability 0.6, independently, so the true cost per correct task is 0.002 / 0.6.
    data = np.random.default_rng(7)
    truth = 0.002 / 0.6
    trials, n_tasks = 400, 80
    covered = 0
    for _ in range(trials):
        verdicts = np.where(data.random(n_tasks) < 0.6, "correct", "incorrect")
        low, high = cost_per_correct_interval(_frame("m", list(verdicts), costs=data.uniform(0.001, 0.003, n_tasks)))
        covered += low <= truth <= high
    coverage = covered / trials
    # 0.9575 here; a 90% interval passed off as 95% covers 0.91 of these trials and fails.
    assert 0.93 <= coverage <= 0.98, coverage
