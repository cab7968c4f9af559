"""Every built-in suite: its size, its description, and a self-test — a known-correct answer for every task
(its `reference`, else its expected value written out) must be judged correct by the task's checker."""

from __future__ import annotations

import json

import pytest

from harness.checkers import run_checker
from harness.suites import builtin_suites, load_suite

MINIMUM_TASKS = {"arith": 50, "extract": 30, "classify": 30, "instruct": 30, "code": 20, "smoke": 20}


def test_the_issue_suites_exist_with_enough_tasks():
    assert set(MINIMUM_TASKS) <= set(builtin_suites())
    for name, minimum in MINIMUM_TASKS.items():
        suite = load_suite(name)
        assert len(suite.tasks) >= minimum, name
        assert len(suite.description) > 80, f"{name} says what it measures"


@pytest.mark.parametrize("name", sorted(MINIMUM_TASKS))
def test_a_correct_answer_passes_every_task(name):
    suite = load_suite(name)
    for task in suite.tasks:
        if task.reference is not None:
            answer = task.reference
        elif task.checker.kind == "json":
            answer = json.dumps(task.expected)
        else:
            answer = str(task.expected)
        verdict = run_checker(task.checker, answer, task.expected)
        assert verdict.verdict == "correct", (name, task.id, verdict.detail)


@pytest.mark.parametrize("name", ["arith", "classify", "extract", "code", "smoke"])
def test_suites_have_completion_forms_for_base_models(name):
    assert all(task.completion for task in load_suite(name).tasks)


def test_code_completion_form_plus_prefix_is_a_full_function():
    for task in load_suite("code").tasks:
        assert task.completion.endswith(task.answer_prefix)
        body = task.reference.split("\n", 2)[2].rstrip("`\n")  # the reference without its fence and def line
        verdict = run_checker(task.checker, task.answer_prefix + body, task.expected)
        assert verdict.verdict == "correct", (task.id, verdict.detail)
