"""The checker kinds (`CheckerSpec`, `CHECKERS`) and `run_checker`, which turns any checker exception into
an `error` verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers.choice_loglik import LoglikelihoodChecker
from harness.checkers.gsm8k import Gsm8kChecker
from harness.checkers.humaneval import HumanEvalChecker
from harness.checkers.ifeval_official import IfevalOfficialChecker
from harness.checkers.instructions import InstructionChecker
from harness.checkers.judge import JudgeChecker
from harness.checkers.mmlu import MmluChecker
from harness.checkers.python_tests import PythonTestsChecker
from harness.checkers.structured import JsonChecker
from harness.checkers.text_match import (
    ChoiceChecker,
    ContainsChecker,
    ExactChecker,
    NumericChecker,
    RegexChecker,
    UnscoredChecker,
)
from harness.checkers.verdict import ERROR, Verdict

CheckerSpec = (ExactChecker | ContainsChecker | NumericChecker | RegexChecker | ChoiceChecker | JsonChecker
               | InstructionChecker | PythonTestsChecker | JudgeChecker | Gsm8kChecker | MmluChecker | HumanEvalChecker
               | IfevalOfficialChecker | LoglikelihoodChecker | UnscoredChecker)


CHECKERS: dict[str, type] = {cls.model_fields["kind"].default: cls for cls in CheckerSpec.__args__}


def needs_expected(kind: str) -> bool:
    """Whether tasks using this checker must give an `expected` answer."""
    return getattr(CHECKERS[kind], "needs_expected", True)


def run_checker(checker: Any, output: str, expected: Any, judge: Callable[[str], dict[str, Any]] | None = None,
                question: str | None = None, prompt_style: str | None = None) -> Verdict:
    """Apply a checker; an exception inside it becomes a recorded `error` verdict, not a crash.

    `prompt_style` (`chat` or `completion`) is the protocol the request was sent with, for checkers that
    score the two differently (HumanEval)."""
    try:
        if getattr(checker, "needs_judge", False):
            return checker.check(output, expected, judge=judge, question=question)
        if getattr(checker, "takes_prompt_style", False):
            return checker.check(output, expected, prompt_style=prompt_style)
        return checker.check(output, expected)
    except Exception as exc:  # noqa: BLE001 - any checker bug must become a verdict
        return Verdict(ERROR, detail=f"{type(exc).__name__}: {exc}")
