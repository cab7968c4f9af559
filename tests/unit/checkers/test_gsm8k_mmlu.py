"""GSM8K and MMLU scoring on hand-written replies, each with the verdict the field's definition gives.

GSM8K verdicts are worked by hand from lm-evaluation-harness's gsm8k task (v3): strict-match takes the first
`#### (-?[0-9.,]+)`, flexible-extract the last `(-?[$0-9.,]{2,})|(-?[0-9]+)`; both then drop `,`, `$`,
everything up to `#### ` and one trailing `.`, and compare lower-cased strings with the reference.
"""

from __future__ import annotations

import pytest

from harness.checkers import CHECKERS, Gsm8kChecker, MmluChecker, run_checker
from harness.checkers.gsm8k import exact_match_normalise, flexible_extract, strict_extract

NATALIA = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
           "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")

# (reply, reference, strict-match correct, flexible-extract correct)
GSM8K_CASES = [
    ("48/2 = 24. 48+24 = 72.\n#### 72", NATALIA, True, True),
    ("#### 72", NATALIA, True, True),
    ("#### 72.", NATALIA, True, True),                          # one trailing dot is dropped
    ("#### 72\n", NATALIA, True, True),
    ("#### 72 clips", NATALIA, True, True),
    ("The answer is 72", NATALIA, False, True),                 # no ####: only flexible finds it
    ("The answer is $72.", NATALIA, False, True),               # $ and the final dot dropped
    ("The answer is 72!", NATALIA, False, True),
    ("So she sold 72 clips in total.", NATALIA, False, True),
    ("####72", NATALIA, False, True),                           # strict needs the space after ####
    ("####  72", NATALIA, False, True),                         # ... and exactly one
    ("#### $72", NATALIA, False, True),                         # strict's class has no $
    ("# 72", NATALIA, False, True),
    ("#### 72\nWait, it is 73.", NATALIA, True, False),         # strict takes the first, flexible the last
    ("#### 72 #### 73", NATALIA, True, False),
    ("72 clips. #### 72. Check: 48 + 24 = 72, then 80 remain", NATALIA, True, False),
    ("#### 72.00", NATALIA, False, False),                      # no numeric equality, only strings
    ("The answer is 72...", NATALIA, False, False),             # only one trailing dot goes: "72.."
    ("The answer is 72, which is 8 times 9.", NATALIA, False, False),  # last number is 9
    ("The answer is 72, clips.", NATALIA, False, True),         # "72," then comma dropped
    ("", NATALIA, False, False),                                # [invalid] for both
    ("I do not know.", NATALIA, False, False),
    ("####  ", NATALIA, False, False),
    ("-72", NATALIA, False, False),                             # sign kept
    ("#### 1,200", "Some work.\n#### 1200", True, True),        # thousands separator dropped
    ("It comes to $1,200 in all", "Some work.\n#### 1200", False, True),
    ("#### 1.200", "Some work.\n#### 1200", False, False),      # a European separator is not
    ("#### -3", "He loses 3.\n#### -3", True, True),
    ("The change is -3", "He loses 3.\n#### -3", False, True),  # "-3" by the second alternative
    ("72-3=69", "Work.\n#### 69", False, True),
    ("It costs $5 an hour for 8 hours: $40", "Work.\n#### 40", False, True),
    ("#### 3.5", "Work.\n#### 3.5", True, True),
    ("The answer is 5.0", "Work.\n#### 5", False, False),
    ("#### 72", "72", True, True),                              # a bare reference works too
    ("I have 5 apples and 3 pears", "Work.\n#### 3", False, True),  # single digits by the second group
]


@pytest.mark.parametrize(("reply", "reference", "strict", "flexible"), GSM8K_CASES)
def test_gsm8k_both_filters(reply, reference, strict, flexible):
    verdict = Gsm8kChecker().check(reply, reference)
    assert verdict.scores == {"strict_match": strict, "flexible_extract": flexible}
    assert verdict.correct is strict  # strict-match is the default headline
    assert Gsm8kChecker(headline="flexible_extract").check(reply, reference).correct is flexible


def test_gsm8k_extractions_are_lm_evals():
    assert strict_extract("#### 1,000.\nmore") == "1,000."
    assert strict_extract("no answer") == "[invalid]"
    assert flexible_extract("first 12, then 3.") == "3."
    assert flexible_extract("costs $1,234.56") == "$1,234.56"
    assert flexible_extract("words only") == "[invalid]"
    assert exact_match_normalise("Work.\nMore work.\n#### 1,200") == "1200"
    assert exact_match_normalise("$1,234.56.") == "1234.56"


def test_gsm8k_is_a_registered_kind_with_validated_options():
    assert CHECKERS["gsm8k"] is Gsm8kChecker
    with pytest.raises(ValueError):
        Gsm8kChecker(headline="loose")
    assert run_checker(Gsm8kChecker(), "#### 72", NATALIA).verdict == "correct"


# (reply, expected letter, verdict, extracted)
MMLU_CASES = [
    ("B", "B", "correct", "B"),
    ("B.", "B", "correct", "B"),
    ("(B)", "B", "correct", "B"),
    ("**B**", "B", "correct", "B"),
    ("B) Paris", "B", "correct", "B"),
    ("B: Paris", "B", "correct", "B"),
    ("b.", "B", "correct", "B"),
    ("  > *C*: because it is", "C", "correct", "C"),
    ("D\nbecause A is wrong", "D", "correct", "D"),             # later letters are explanation
    ("B. Paris is the capital; A is wrong.", "B", "correct", "B"),
    ("C, because the others are wrong", "C", "correct", "C"),
    ("A, because B is wrong", "B", "incorrect", "A"),
    ("Ａ", "A", "correct", "A"),                                  # full-width letter, NFKC
    ("A cat is a mammal. ANSWER: C", "C", "correct", "C"),      # the marker wins over the text
    ("ANSWER: C", "C", "correct", "C"),
    ("Answer: b.", "B", "correct", "B"),
    ("answer: c", "C", "correct", "C"),
    ("Answer: **D**", "D", "correct", "D"),
    ("ANSWER: (C)", "C", "correct", "C"),
    ("Let me think.\nThe capital is Paris.\nANSWER: $B$", "B", "correct", "B"),
    ("ANSWER: B\nANSWER: B", "B", "correct", "B"),              # the same letter twice is one letter
    ("B or B", "B", "correct", "B"),
    ("A", "B", "incorrect", "A"),
    ("ANSWER: A", "B", "incorrect", "A"),
    # two letters: no single answer, incorrect even when one of them is right
    ("ANSWER: A or B", "B", "incorrect", "A/B"),
    ("ANSWER: A ... on reflection ANSWER: C", "C", "incorrect", "A/C"),
    ("A, C", "A", "incorrect", "A/C"),
    ("B/D", "B", "incorrect", "B/D"),
    ("A and B", "A", "incorrect", "A/B"),
    ("A & C", "C", "incorrect", "A/C"),
    # no letter given
    ("A cat is a mammal", "A", "incorrect", None),              # an article, not an answer
    ("Because of gravity", "B", "incorrect", None),
    ("The answer is C.", "C", "incorrect", None),               # neither form
    ("answer: a bit unclear", "A", "incorrect", None),
    ("E", "A", "incorrect", None),
    ("", "A", "incorrect", None),
]


@pytest.mark.parametrize(("reply", "expected", "verdict", "extracted"), MMLU_CASES)
def test_mmlu_letter(reply, expected, verdict, extracted):
    result = MmluChecker(rule="harness").check(reply, expected)
    assert (result.verdict, result.extracted) == (verdict, extracted)


def test_mmlu_expected_as_index_or_invalid():
    assert MmluChecker().check("C", 2).verdict == "correct"
    assert MmluChecker().check("C", "c").verdict == "correct"
    assert MmluChecker().check("C", "E").verdict == "error"
    assert MmluChecker().check("C", 7).verdict == "error"
