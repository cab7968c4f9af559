"""Checkers on plain text: exact, contains, numeric, regex, choice."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, UNSCORED, Verdict, normalise, phrase_pattern
from harness.config.model_config import StrictModel

_NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def extract_numbers(text: str) -> list[float]:
    """Every number written in `text`, accepting thousands separators, signs and a unicode minus."""
    values = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).replace(",", "").replace("−", "-")
        try:
            values.append(float(raw))
        except ValueError:
            continue
    return values


class ExactChecker(StrictModel):
    """Correct when the normalised output equals the normalised expected answer (or one of several)."""

    kind: Literal["exact"] = "exact"

    def check(self, output: str, expected: Any) -> Verdict:
        answers = expected if isinstance(expected, list) else [expected]
        got = normalise(output)
        ok = any(got == normalise(str(a)) for a in answers)
        return Verdict(CORRECT if ok else INCORRECT, extracted=got)


class ContainsChecker(StrictModel):
    """Correct when the expected phrase (or any of several) occurs as whole words in the output."""

    kind: Literal["contains"] = "contains"

    def check(self, output: str, expected: Any) -> Verdict:
        answers = expected if isinstance(expected, list) else [expected]
        got = normalise(output)
        for answer in answers:
            if phrase_pattern(str(answer)).search(got):
                return Verdict(CORRECT, extracted=str(answer))
        return Verdict(INCORRECT)


class NumericChecker(StrictModel):
    """Correct when the chosen number in the output is within `tolerance` of the expected number.

    `pick` says which number counts: the `last` one written (the convention of GSM8K-style grading, since
    models restate the question before answering), the `first`, or `any`.
    """

    kind: Literal["numeric"] = "numeric"
    tolerance: float = Field(default=1e-6, ge=0)
    relative: bool = False
    pick: Literal["last", "first", "any"] = "last"

    def check(self, output: str, expected: Any) -> Verdict:
        target = float(str(expected).replace(",", ""))
        numbers = extract_numbers(output)
        if not numbers:
            return Verdict(INCORRECT, detail="no number in output")
        candidates = {"last": numbers[-1:], "first": numbers[:1], "any": numbers}[self.pick]
        bound = self.tolerance * abs(target) if self.relative else self.tolerance
        for value in candidates:
            if abs(value - target) <= bound:
                return Verdict(CORRECT, extracted=f"{value:g}")
        return Verdict(INCORRECT, extracted=f"{candidates[0]:g}")


class RegexChecker(StrictModel):
    """Correct when `pattern` (or, if unset, the expected value as a pattern) is found in the output."""

    kind: Literal["regex"] = "regex"
    pattern: str | None = None
    ignore_case: bool = True
    full_match: bool = False

    def check(self, output: str, expected: Any) -> Verdict:
        pattern = re.compile(self.pattern or str(expected), re.IGNORECASE if self.ignore_case else 0)
        text = output.strip()
        match = pattern.fullmatch(text) if self.full_match else pattern.search(text)
        return Verdict(CORRECT if match else INCORRECT, extracted=match.group(0) if match else None)


class ChoiceChecker(StrictModel):
    """The answer is the option from `options` named first in the output; correct when it is the expected one.

    An output naming none of the options is incorrect (extracted answer empty).
    """

    kind: Literal["choice"] = "choice"
    options: list[str] = Field(min_length=2)

    def check(self, output: str, expected: Any) -> Verdict:
        if normalise(str(expected)) not in {normalise(o) for o in self.options}:
            return Verdict(ERROR, detail=f"expected answer {expected!r} is not among the options")
        got = normalise(output)
        found = []
        for option in self.options:
            match = phrase_pattern(option).search(got)
            if match:
                found.append((match.start(), option))
        if not found:
            return Verdict(INCORRECT, detail="no option named in output")
        chosen = min(found)[1]
        ok = normalise(chosen) == normalise(str(expected))
        return Verdict(CORRECT if ok else INCORRECT, extracted=chosen)


class UnscoredChecker(StrictModel):
    """No verdict: the task measures cost and speed only (synthetic workloads). Counts as not scored."""

    kind: Literal["none"] = "none"
    needs_expected: ClassVar[bool] = False

    def check(self, output: str, expected: Any) -> Verdict:
        return Verdict(UNSCORED)
