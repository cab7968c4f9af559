"""The headline accuracy keeps failed requests and checker errors in its denominator, as not correct, in every
figure derived from records: the per-model summary, its interval, the paired differences, the benchmark table."""

from __future__ import annotations

import pytest

from harness.analysis.model_summary import accuracy_separation, summarize
from harness.analysis.scores import score_metrics

FAILED = {"type": "ServerError", "message": "HTTP 500"}


def _record(task: int, verdict: str | None, model: str = "m", error: dict | None = None,
            checker: str = "exact") -> dict:
    return {"model": model, "suite": "s", "task_id": f"t{task}", "repetition": 0, "error": error,
            "verdict": verdict, "checker": checker, "chunk_offsets_ns": [], "chunk_chars": [],
            "input_tokens": 10, "output_tokens": 2}


def _ten_with_two_failed(model: str = "m") -> list[dict]:
    """4 correct, 4 incorrect, 2 failed requests: 40% correct of 10 tasks (50% of the 8 answered)."""
    verdicts = ["correct"] * 4 + ["incorrect"] * 4
    return [*(_record(i, v, model) for i, v in enumerate(verdicts)),
            _record(8, None, model, FAILED), _record(9, None, model, FAILED)]


def test_four_correct_of_ten_with_two_failed_reads_forty_percent():
    (row,) = summarize(_ten_with_two_failed()).to_dict("records")
    assert row["accuracy"] == pytest.approx(0.4)
    assert row["accuracy_of_answered"] == pytest.approx(0.5)
    assert (row["n_correct"], row["n_attempted"], row["n_scored"], row["n_errors"]) == (4, 10, 8, 2)
    assert row["accuracy_ci_low"] <= 0.4 <= row["accuracy_ci_high"]


def test_checker_error_is_not_correct():
    records = [_record(0, "correct"), _record(1, "error")]
    (row,) = summarize(records).to_dict("records")
    assert row["accuracy"] == pytest.approx(0.5) and row["n_checker_errors"] == 1


def test_failures_of_unscored_workload_tasks_stay_out():
    records = [_record(0, "unscored", checker="none"), _record(1, None, error=FAILED, checker="none")]
    (row,) = summarize(records).to_dict("records")
    assert row["accuracy"] is None or row["accuracy"] != row["accuracy"]
    assert row["n_attempted"] == 0


def test_paired_difference_counts_a_failure_as_not_correct():
    a = [_record(0, "correct", "a"), _record(1, "correct", "a")]
    b = [_record(0, "correct", "b"), _record(1, None, "b", FAILED)]
    (pair,) = accuracy_separation(a + b).to_dict("records")
    assert pair["difference"] == pytest.approx(0.5) and pair["n_tasks"] == 2


def test_benchmark_headline_uses_the_same_denominator():
    table = score_metrics(_ten_with_two_failed(), {"suites": [{"name": "s", "n_tasks": 10}]})
    (headline,) = table[table["metric"] == "accuracy"].to_dict("records")
    assert headline["value"] == pytest.approx(0.4) and headline["n_tasks"] == 10


def test_a_model_that_starts_failing_has_regressed_in_accuracy():
    from harness.analysis.model_summary import records_frame
    from harness.analysis.regress import compare_runs

    base = [_record(i, "correct") for i in range(40)]
    current = [_record(i, "correct") for i in range(20)] + [_record(i, None, error=FAILED) for i in range(20, 40)]
    table = compare_runs(records_frame(base), records_frame(current))
    (row,) = table[table["metric"] == "accuracy"].to_dict("records")
    assert row["current"] == pytest.approx(0.5) and row["verdict"] == "regressed"
