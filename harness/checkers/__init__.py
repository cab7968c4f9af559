"""Checkers decide whether a model's output answers a task correctly.

A checker is a pydantic spec (its options, validated strictly in the suite file) with a `check(output,
expected)` method returning a `Verdict`. Any exception inside a checker becomes verdict `error`: a broken
checker never stops a run.

Stage rule: it may import config, store, errors, host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers.basic import (
    ChoiceChecker,
    ContainsChecker,
    ExactChecker,
    NumericChecker,
    RegexChecker,
    UnscoredChecker,
    extract_numbers,
)
from harness.checkers.choice_loglik import LoglikelihoodChecker
from harness.checkers.code import PythonTestsChecker, extract_code
from harness.checkers.common import CORRECT, ERROR, INCORRECT, Verdict, normalise
from harness.checkers.gsm8k import Gsm8kChecker
from harness.checkers.humaneval import HUMANEVAL_STOP, HumanEvalChecker
from harness.checkers.ifeval import InstructionChecker
from harness.checkers.ifeval_official import IfevalOfficialChecker
from harness.checkers.judge import JudgeChecker
from harness.checkers.mmlu import MmluChecker
from harness.checkers.structured import JsonChecker, extract_json

CheckerSpec = (ExactChecker | ContainsChecker | NumericChecker | RegexChecker | ChoiceChecker | JsonChecker
               | InstructionChecker | PythonTestsChecker | JudgeChecker | Gsm8kChecker | MmluChecker | HumanEvalChecker
               | IfevalOfficialChecker | LoglikelihoodChecker | UnscoredChecker)
CHECKERS: dict[str, type] = {cls.model_fields["kind"].default: cls for cls in CheckerSpec.__args__}


def needs_expected(kind: str) -> bool:
    """Whether tasks using this checker must give an `expected` answer."""
    return getattr(CHECKERS[kind], "needs_expected", True)


def run_checker(checker: Any, output: str, expected: Any, judge: Callable[[str], dict[str, Any]] | None = None,
                question: str | None = None) -> Verdict:
    """Apply a checker; an exception inside it becomes a recorded `error` verdict, not a crash."""
    try:
        if getattr(checker, "needs_judge", False):
            return checker.check(output, expected, judge=judge, question=question)
        return checker.check(output, expected)
    except Exception as exc:  # noqa: BLE001 - any checker bug must become a verdict
        return Verdict(ERROR, detail=f"{type(exc).__name__}: {exc}")


__all__ = ["CHECKERS", "CORRECT", "ERROR", "HUMANEVAL_STOP", "INCORRECT", "CheckerSpec", "ChoiceChecker",
           "ContainsChecker", "ExactChecker", "Gsm8kChecker", "HumanEvalChecker", "IfevalOfficialChecker",
           "InstructionChecker", "JsonChecker", "JudgeChecker", "LoglikelihoodChecker", "MmluChecker", "NumericChecker", "PythonTestsChecker", "RegexChecker", "Verdict", "extract_code", "extract_json", "extract_numbers",
           "needs_expected", "normalise", "run_checker"]
