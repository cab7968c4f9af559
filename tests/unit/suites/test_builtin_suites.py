"""Every built-in suite: its exact size, its description, and a self-test. Every task carries a `reference`
— a known-correct answer written by hand, independently of `expected` — and the task's checker must judge
it correct against `expected`, so a wrong expected answer fails here. Arithmetic is also worked out in this
file from the prompt (expressions) or from a hand translation of the word problem."""

from __future__ import annotations

import math
import re

import pytest

from harness.checkers import run_checker
from harness.suites import builtin_suites, load_suite

SIZES = {"arith": 55, "extract": 30, "classify": 35, "instruct": 31, "code": 22, "smoke": 22}  # the README's table


# The word problems of `arith` and the arithmetic of `smoke`, translated by hand into Python.
WORKED = {
    "word-01": "50 - 7 * 3", "word-02": "80 * 3 + 60 * 2", "word-03": "250 * 6", "word-04": "12 * 3 + 5",
    "word-05": "28 * 3 / 4", "word-06": "14 * 9", "word-07": "2 * (14 + 9)", "word-08": "240 / 15",
    "word-09": "24 * 7 - 10", "word-10": "45 * 3 + 17", "word-11": "80 * (1 - 0.25)", "word-12": "120 - 35 + 18",
    "word-13": "500 * 0.40", "word-14": "2 * 12 + 3 * 7", "word-15": "400 / 80", "word-16": "365 // 7",
    "word-17": "312 / 24", "word-18": "18 * 37", "word-19": "math.ceil(5 * 2 / 8)", "word-20": "-4 + 11",
    "word-21": "350 / 100 * 6", "word-22": "64 / (1 + 3) * 3", "word-23": "math.ceil(12 * 15 / 20)",
    "word-24": "(58 - 40) * 12", "word-25": "25 + 2 * 7",
    "arith-add": "17 + 25", "arith-sub": "100 - 37", "arith-mul": "12 * 12", "arith-div": "81 / 9",
    "arith-word-apples": "5 + 3", "arith-word-week": "2 * 7", "fact-legs-spider": "8",
    "extract-year": "1932", "extract-price": "45",
}


def _expression_value(prompt: str) -> float:
    """Evaluate the expression of an `arith` expression task, read from its prompt."""
    (text,) = re.findall(r"^Compute (.+)\. Reply", prompt)
    python = text.replace("×", "*").replace("−", "-").replace("²", "**2")
    assert re.fullmatch(r"[\d\s+\-*()]+", python), text
    return eval(python)  # digits and operators only, checked above


def test_every_builtin_suite_has_its_exact_size_and_says_what_it_measures():
    assert set(SIZES) <= set(builtin_suites())
    for name, size in SIZES.items():
        suite = load_suite(name)
        assert len(suite.tasks) == size, name
        assert len(suite.description) > 80, f"{name} says what it measures"


# The code suite's references run in the sandbox: tests/integration/test_suites_cli.py checks them.
@pytest.mark.parametrize("name", sorted(set(SIZES) - {"code"}))
def test_every_task_has_a_reference_that_its_checker_judges_correct(name):
    for task in load_suite(name).tasks:
        assert task.reference is not None, (name, task.id)
        verdict = run_checker(task.checker, task.reference, task.expected)
        assert verdict.verdict == "correct", (name, task.id, verdict.detail)


def test_arithmetic_expected_answers_are_worked_out_independently():
    checked = 0
    for suite in (load_suite("arith"), load_suite("smoke")):
        for task in suite.tasks:
            if task.id.startswith("expr-"):
                value = _expression_value(task.question)
            elif task.id in WORKED:
                value = eval(WORKED[task.id], {"math": math})  # the literals above
            else:
                continue
            assert value == task.expected, (suite.name, task.id, value, task.expected)
            checked += 1
    assert checked == 55 + 9


@pytest.mark.parametrize("name", ["arith", "classify", "extract", "code", "smoke"])
def test_suites_have_completion_forms_for_base_models(name):
    assert all(task.completion for task in load_suite(name).tasks)
