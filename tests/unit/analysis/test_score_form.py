"""Each benchmark figure says which form it is: log-likelihood or generative."""

from __future__ import annotations

from harness.analysis.scores import form_label, score_metrics


def _record(model: str, task: str, verdict: str, form: str | None, checker: str) -> dict:
    record = {"suite": "mmlu-ll", "model": model, "task_id": task, "verdict": verdict, "error": None,
              "checker": checker}
    if form is not None:
        record["score_form"] = form
    return record


def test_metrics_carry_the_form_and_the_headline_is_acc():
    records = [_record("local", "a", "correct", "loglikelihood", "loglikelihood"),
               _record("local", "b", "incorrect", "loglikelihood", "loglikelihood"),
               _record("api", "a", "correct", None, "mmlu")]  # a record written before the field existed
    rows = {r["model"]: r for r in score_metrics(records, {}).to_dict("records")}
    assert rows["local"]["score_form"] == "loglikelihood" and rows["local"]["metric"] == "acc"
    assert rows["local"]["value"] == 0.5
    assert rows["api"]["score_form"] == "generative" and rows["api"]["metric"] == "accuracy"
    assert form_label(records) == "generative: api; log-likelihood: local"
    assert form_label(records[:2]) == "log-likelihood"
