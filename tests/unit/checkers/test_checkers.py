"""Checkers on hand-written cases, including the awkward ways models write answers."""

from __future__ import annotations

import pytest

from harness.checkers import (  # noqa: E402
    ChoiceChecker,
    ContainsChecker,
    ExactChecker,
    InstructionChecker,
    JsonChecker,
    JudgeChecker,
    NumericChecker,
    RegexChecker,
    extract_numbers,
    normalise,
    run_checker,
)


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


SCHEMA = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}


@pytest.mark.parametrize(("output", "verdict"), [
    ('{"name": "Anna", "age": 34}', "correct"),
    ('Sure! Here it is:\n```json\n{"name": "anna ", "age": 34}\n```\nAnything else?', "correct"),  # fenced, normalised
    ('The answer is {"name": "Anna", "age": 34, "city": "Oslo"} as requested.', "correct"),       # bare, extra key
    ('{"name": "Anna", "age": "34"}', "incorrect"),                                                # schema: type
    ('{"name": "Anna"}', "incorrect"),                                                            # schema: required
    ('{"name": "Ann", "age": 34}', "incorrect"),                                                  # field differs
    ("name: Anna, age: 34", "incorrect"),                                                         # no JSON at all
    ('```json\n{"name": "Anna", "age": 34,}\n```', "incorrect"),                                  # broken JSON
])
def test_json_checker(output, verdict):
    result = JsonChecker.model_validate({"kind": "json", "schema": SCHEMA}).check(output, {"name": "Anna", "age": 34})
    assert result.verdict == verdict, result.detail


def test_json_schema_failure_names_the_field():
    result = JsonChecker.model_validate({"kind": "json", "schema": SCHEMA}).check('{"name": 5, "age": 1}', None)
    assert result.detail.startswith("schema: name:")


@pytest.mark.parametrize(("rules", "output", "verdict"), [
    ([{"max_words": 5}], "one two three four five", "correct"),
    ([{"max_words": 5}], "one two three four five six", "incorrect"),
    ([{"include": ["apple"]}, {"exclude": ["pear"]}], "An apple a day.", "correct"),
    ([{"include": ["apple"]}], "Pineapples are sweet.", "incorrect"),           # whole words only
    ([{"lowercase": True}], "all lower case here.", "correct"),
    ([{"lowercase": True}], "Not lower.", "incorrect"),
    ([{"bullets": 2}], "- a\n- b", "correct"),
    ([{"bullets": 2}], "- a\n- b\n- c", "incorrect"),
    ([{"numbered": 3}], "1. a\n2. b\n3. c", "correct"),
    ([{"ends_with": "Is there anything else?"}], "Done. Is there anything else?  ", "correct"),
    ([{"no_commas": True}], "No commas, here", "incorrect"),
    ([{"json": True}], '```json\n{"a": 1}\n```', "correct"),
    ([{"json": True}], 'Here: {"a": 1}', "incorrect"),
    ([{"paragraphs": 2}], "First.\n\nSecond.", "correct"),
    ([{"title": True}], "<<My Title>>\nText", "correct"),
    ([{"quoted": True}], '"quoted"', "correct"),
    ([{"min_sentences": 2}, {"max_sentences": 2}], "One. Two!", "correct"),
    ([{"max_capital_words": 1}], "NASA and ESA", "incorrect"),
])
def test_ifeval_rules(rules, output, verdict):
    assert InstructionChecker(rules=rules).check(output, None).verdict == verdict


def test_ifeval_reports_every_failed_rule_and_rejects_unknown_rules():
    result = InstructionChecker(rules=[{"max_words": 1}, {"lowercase": True}]).check("Two Words", None)
    assert result.detail == "failed: max_words, lowercase"
    with pytest.raises(ValueError, match="each rule is one of"):
        InstructionChecker(rules=[{"max_wordz": 3}])


def test_judge_is_off_by_default_and_parses_the_final_verdict():
    checker = JudgeChecker(rubric="The answer names a primary colour.")
    assert checker.check("red", None).verdict == "error"
    asked = []

    def judge(prompt):
        asked.append(prompt)
        return {"text": "It names red, a primary colour. Not a FAIL.\nPASS", "cost_usd": 0.0001, "error": None}

    result = run_checker(checker, "red", None, judge=judge, question="Name a primary colour.")
    assert result.verdict == "correct" and result.judge["cost_usd"] == 0.0001
    assert "Name a primary colour." in asked[0] and "Rubric:\nThe answer names a primary colour." in asked[0]
    silent = run_checker(checker, "red", None, judge=lambda p: {"text": "maybe", "error": None})
    assert silent.verdict == "error" and "no PASS or FAIL" in silent.detail
