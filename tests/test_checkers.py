"""Checkers on hand-written cases, including the awkward ways models write answers."""

from __future__ import annotations

import pytest

from harness.checkers import (ChoiceChecker, ContainsChecker, ExactChecker, NumericChecker, RegexChecker,
                              extract_numbers, normalise, run_checker)


def test_normalise_strips_case_space_and_edge_punctuation():
    assert normalise("  **Paris.**\n") == "paris"
    assert normalise("“Yes!”") == "yes"
    assert normalise("New   York") == "new york"


@pytest.mark.parametrize(("output", "expected", "verdict"), [
    ("Paris", "paris", "correct"),
    ("Paris.", "Paris", "correct"),
    ("The answer is Paris", "Paris", "incorrect"),
    ("lyon", ["Paris", "Lyon"], "correct"),
])
def test_exact(output, expected, verdict):
    assert ExactChecker().check(output, expected).verdict == verdict


@pytest.mark.parametrize(("output", "expected", "verdict"), [
    ("The capital is Paris, of course.", "Paris", "correct"),
    ("I know the answer", "no", "incorrect"),          # whole words only
    ("It is H2O.", "H2O", "correct"),
    ("Tokyo-based", "Tokyo", "correct"),
    ("", "Paris", "incorrect"),
])
def test_contains(output, expected, verdict):
    assert ContainsChecker().check(output, expected).verdict == verdict


@pytest.mark.parametrize(("output", "expected", "checker", "verdict"), [
    ("42", 42, NumericChecker(), "correct"),
    ("The answer is 1,234 apples.", 1234, NumericChecker(), "correct"),
    ("$45.00", 45, NumericChecker(), "correct"),
    ("17 + 25 = 42", 42, NumericChecker(), "correct"),              # last number counts
    ("17 + 25 = 42", 42, NumericChecker(pick="first"), "incorrect"),
    ("About 3.14159", 3.14, NumericChecker(tolerance=0.01), "correct"),
    ("−7 degrees", -7, NumericChecker(), "correct"),                  # unicode minus
    ("1e3 metres", 1000, NumericChecker(), "correct"),
    ("no idea", 5, NumericChecker(), "incorrect"),
    ("105", 100, NumericChecker(tolerance=0.05, relative=True), "correct"),
    ("106", 100, NumericChecker(tolerance=0.05, relative=True), "incorrect"),
    ("version1.2", 2, NumericChecker(), "incorrect"),
])
def test_numeric(output, expected, checker, verdict):
    assert checker.check(output, expected).verdict == verdict


def test_extract_numbers_handles_separators_and_sentence_punctuation():
    assert extract_numbers("It costs 1,250.50 dollars. Then 3.") == [1250.5, 3.0]


def test_regex_uses_pattern_or_expected():
    assert RegexChecker(pattern=r"help@example\.org").check("mail help@example.org!", None).correct
    assert RegexChecker().check("ID: AB-12", r"[A-Z]{2}-\d+").extracted == "AB-12"
    assert not RegexChecker(full_match=True).check("yes sir", "yes").correct


@pytest.mark.parametrize(("output", "verdict", "extracted"), [
    ("Yes.", "correct", "yes"),
    ("yes, but no", "correct", "yes"),          # the first option named counts
    ("No, fire is hot", "incorrect", "no"),
    ("I cannot say", "incorrect", None),
    ("nope", "incorrect", None),
])
def test_choice(output, verdict, extracted):
    result = ChoiceChecker(options=["yes", "no"]).check(output, "yes")
    assert (result.verdict, result.extracted) == (verdict, extracted)


def test_choice_with_expected_outside_options_is_a_checker_error():
    assert ChoiceChecker(options=["yes", "no"]).check("yes", "maybe").verdict == "error"


def test_checker_exception_becomes_error_verdict():
    result = run_checker(NumericChecker(), "42", "not a number")
    assert result.verdict == "error"
    assert "ValueError" in result.detail
