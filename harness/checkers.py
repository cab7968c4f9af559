"""Checkers decide whether a model's output answers a task correctly.

A checker is a pydantic spec (its options, validated strictly in the suite file) with a `check(output,
expected)` method returning a `Verdict`. Any exception inside a checker becomes verdict `error`: a broken
checker never stops a run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from harness.config import StrictModel

CORRECT, INCORRECT, ERROR = "correct", "incorrect", "error"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one output: `correct`, `incorrect` or `error`, and what was extracted."""

    verdict: str
    extracted: str | None = None
    detail: str | None = None

    @property
    def correct(self) -> bool:
        return self.verdict == CORRECT


_PUNCT_EDGES = " \t\r\n.,;:!?\"'`*()[]{}<>«»“”‘’"


def normalise(text: str) -> str:
    """Lower-case, NFKC, collapse whitespace, strip punctuation and quotes at both ends."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = re.sub(r"\s+", " ", text)
    return text.strip(_PUNCT_EDGES)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Whole-word match: "no" must not match inside "know".
    return re.compile(r"(?<!\w)" + re.escape(normalise(phrase)) + r"(?!\w)")


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
            if _phrase_pattern(str(answer)).search(got):
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
            match = _phrase_pattern(option).search(got)
            if match:
                found.append((match.start(), option))
        if not found:
            return Verdict(INCORRECT, detail="no option named in output")
        chosen = min(found)[1]
        ok = normalise(chosen) == normalise(str(expected))
        return Verdict(CORRECT if ok else INCORRECT, extracted=chosen)


CheckerSpec = ExactChecker | ContainsChecker | NumericChecker | RegexChecker | ChoiceChecker
CHECKERS: dict[str, type[StrictModel]] = {
    cls.model_fields["kind"].default: cls for cls in CheckerSpec.__args__
}


def run_checker(checker, output: str, expected: Any) -> Verdict:
    """Apply a checker; an exception inside it becomes a recorded `error` verdict, not a crash."""
    try:
        return checker.check(output, expected)
    except Exception as exc:  # noqa: BLE001 - any checker bug must become a verdict
        return Verdict(ERROR, detail=f"{type(exc).__name__}: {exc}")
