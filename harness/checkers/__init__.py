"""Checkers decide whether a model's output answers a task correctly.

A checker is a pydantic spec (its options, validated strictly in the suite file) with a `check(output,
expected)` method returning a `Verdict`. Any exception inside a checker becomes verdict `error`: a broken
checker never stops a run.

Stage rule: it may import config, store, errors, host.
"""

from harness.checkers.checker_kinds import (
    CHECKERS,
    CheckerSpec,
    needs_expected,
    run_checker,
)
from harness.checkers.choice_loglik import LoglikelihoodChecker
from harness.checkers.gsm8k import Gsm8kChecker
from harness.checkers.humaneval import HUMANEVAL_STOP, HumanEvalChecker
from harness.checkers.ifeval_official import IfevalOfficialChecker
from harness.checkers.instructions import InstructionChecker
from harness.checkers.judge import JudgeChecker
from harness.checkers.mmlu import MmluChecker
from harness.checkers.python_tests import PythonTestsChecker, extract_code
from harness.checkers.structured import JsonChecker, extract_json
from harness.checkers.text_match import (
    ChoiceChecker,
    ContainsChecker,
    ExactChecker,
    NumericChecker,
    RegexChecker,
    UnscoredChecker,
    extract_numbers,
)
from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict, normalise

__all__ = ["CHECKERS", "CORRECT", "CheckerSpec", "ChoiceChecker", "ContainsChecker", "ERROR", "ExactChecker", "Gsm8kChecker", "HUMANEVAL_STOP", "HumanEvalChecker", "INCORRECT", "IfevalOfficialChecker", "InstructionChecker", "JsonChecker", "JudgeChecker", "LoglikelihoodChecker", "MmluChecker", "NumericChecker", "PythonTestsChecker", "RegexChecker", "UnscoredChecker", "Verdict", "extract_code", "extract_json", "extract_numbers", "needs_expected", "normalise", "run_checker"]
