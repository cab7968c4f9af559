"""MMLU (and any four-option multiple choice) scored from a generated reply: which letter A-D did it give?

The rule, in order:
1. The `ANSWER: X` form (as OpenAI's simple-evals and Inspect ask for it): every `answer:` marker,
   case-insensitive, followed by a letter, optionally wrapped in `**`, `$`, `(`, `[` or quotes. When the
   markers name one letter, that is the answer.
2. Otherwise the first letter after normalisation (NFKC; leading white space, markdown `*`, `_`, `#`, `>`,
   quotes and opening brackets dropped): the reply must begin with a letter A-D standing alone, i.e.
   followed by the end of the reply, a line break, or one of `. ) ] : , *` (so "B", "B.", "(B)",
   "**B**", "B) Paris" and "b." count, but "A cat is..." and "Because..." do not). This is lm-eval's
   generative MMLU answer (the first line, punctuation and case ignored) widened to letters that carry
   their option's text after them.
3. No answer found: incorrect, nothing extracted.

Two letters. A reply whose answer names more than one letter counts as no single answer, and is incorrect,
whichever is right: `ANSWER:` markers naming different letters ("ANSWER: A ... ANSWER: C"), a marker or a
leading answer that lists letters ("ANSWER: A or B", "A, C", "B/D", "A and B", "A & C"). A letter
repeated ("ANSWER: B" twice, "B or B") is one letter. Letters mentioned later in an explanation do not
count: "B. Paris is the capital; A is wrong." answers B.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict
from harness.config.model_config import StrictModel

LETTERS = "ABCD"
_JOIN = r"\s*(?:,|/|&|\bor\b|\band\b)\s*"
_OPEN = r"[\s*$(\[\"'`_]*"
# After `answer:` a capital letter counts when no letter or digit follows it; a small one ("answer: b")
# only when punctuation or the end of the line follows, so that "answer: a bit unclear" names nothing.
_MARKED_LETTER = r"(?:[A-D](?![A-Za-z0-9])|[a-d](?=[*$)\]\"'`_]*(?:[.,:;!]|[ \t]*$|[ \t]*\n)))"
_MARKER = re.compile(r"(?m)\b(?i:answer)\s*:" + _OPEN + "(" + _MARKED_LETTER + "(?:" + _JOIN + _OPEN
                     + _MARKED_LETTER + ")*)")
_LEADING_JUNK = re.compile(r"^[\s*_#>\"'`“‘(\[{]+")
_LEADING = re.compile(r"(?i)^([A-D](?:" + _JOIN + r"[(\[]?[A-D])*)(?=$|\s*\n|[.)\]:,*]|\s*(?:,|/|&|or\b|and\b))")

def _letters(found: str) -> list[str]:
    """The distinct letters in a matched answer, in order of appearance."""
    seen: list[str] = []
    for letter in re.findall(r"(?i)(?<![A-Za-z])[A-D](?![A-Za-z])", found):
        if letter.upper() not in seen:
            seen.append(letter.upper())
    return seen


def extract_choice(reply: str) -> tuple[list[str], str]:
    """The letters the reply gives as its answer, and which rule found them (`marker`, `leading`, `none`)."""
    text = unicodedata.normalize("NFKC", reply)
    markers = _MARKER.findall(text)
    if markers:
        letters: list[str] = []
        for found in markers:
            letters += [letter for letter in _letters(found) if letter not in letters]
        return letters, "marker"
    match = _LEADING.match(_LEADING_JUNK.sub("", text))
    if match:
        return _letters(match.group(1)), "leading"
    return [], "none"


class MmluChecker(StrictModel):
    """Correct when the reply gives exactly one letter and it is the expected one.

    `expected` is the letter ("A".."D"), or the option's index 0-3 as the cais/mmlu dataset stores it.
    """

    kind: Literal["mmlu"] = "mmlu"

    def check(self, output: str, expected: Any) -> Verdict:
        if isinstance(expected, int) and not isinstance(expected, bool) and 0 <= expected < len(LETTERS):
            expected = LETTERS[expected]
        target = str(expected).strip().upper()
        if target not in LETTERS or not target:
            return Verdict(ERROR, detail=f"expected answer {expected!r} is not a letter A-D")
        letters, rule = extract_choice(output)
        if not letters:
            return Verdict(INCORRECT, detail="no answer letter in reply")
        if len(letters) > 1:
            return Verdict(INCORRECT, extracted="/".join(letters), detail=f"names {len(letters)} letters ({rule})")
        ok = letters[0] == target
        return Verdict(CORRECT if ok else INCORRECT, extracted=letters[0], detail=rule)
