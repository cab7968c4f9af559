"""The log-likelihood form's verdict: argmax of the options' log-likelihoods against the gold index."""

from __future__ import annotations

import pytest

from harness.checkers import CHECKERS, run_checker
from harness.suites import Task

CHOICES = [" A", " B", " C", " D"]


def test_argmax_is_the_answer_and_ties_go_to_the_first():
    checker = CHECKERS["loglikelihood"]()
    right = checker.check_scores([-3.0, -0.5, -2.0, -9.0], CHOICES, 1)
    assert right.verdict == "correct" and right.extracted == "B" and right.scores is None
    tie = checker.check_scores([-1.0, -1.0, -2.0, -2.0], CHOICES, 1)
    assert tie.verdict == "incorrect" and tie.extracted == "A"


def test_acc_norm_is_a_sub_score_over_the_option_texts():
    checker = CHECKERS["loglikelihood"](metrics=["acc", "acc_norm"])
    verdict = checker.check_scores([-1.5, -4.0], [" A", " long"], 1)
    assert verdict.verdict == "incorrect" and verdict.scores == {"acc_norm": True}


@pytest.mark.parametrize("expected", ["B", 4, -1, True, None])
def test_a_gold_that_is_not_an_option_index_is_an_error(expected):
    verdict = CHECKERS["loglikelihood"]().check_scores([-1.0] * 4, CHOICES, expected)
    assert verdict.verdict == "error" and "index" in verdict.detail


def test_a_generated_reply_cannot_be_scored_by_it():
    assert run_checker(CHECKERS["loglikelihood"](), " B", 1).verdict == "error"


def test_choices_need_the_loglikelihood_checker_and_a_completion_prompt():
    base = {"id": "t", "messages": [{"role": "user", "content": "q"}], "max_tokens": 1, "expected": 0}
    task = Task.model_validate({**base, "completion": "q\nAnswer:", "choices": CHOICES,
                                "checker": {"kind": "loglikelihood"}})
    assert task.score_form == "loglikelihood"
    assert Task.model_validate({**base, "checker": {"kind": "exact"}}).score_form == "generative"
    with pytest.raises(ValueError, match="go together"):
        Task.model_validate({**base, "completion": "q\nAnswer:", "choices": CHOICES, "checker": {"kind": "mmlu"}})
    with pytest.raises(ValueError, match="need a 'completion'"):
        Task.model_validate({**base, "choices": CHOICES, "checker": {"kind": "loglikelihood"}})
