"""What every checker shares: the verdict, and text normalisation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

CORRECT, INCORRECT, ERROR = "correct", "incorrect", "error"
UNSCORED = "unscored"  # a task with no answer to check (a synthetic workload): neither right nor wrong


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one output: `correct`, `incorrect`, `error` or `unscored`, and what was extracted."""

    verdict: str
    extracted: str | None = None
    detail: str | None = None
    judge: dict[str, Any] | None = None  # a judge model's answer and its own cost, kept apart
    # Named sub-metrics of one record (e.g. GSM8K's strict_match and flexible_extract). A bool or number is
    # averaged over scored records; a list of bools is pooled (sum of True over total length). The verdict
    # stays the headline metric.
    scores: dict[str, Any] | None = None

    @property
    def correct(self) -> bool:
        return self.verdict == CORRECT


_PUNCT_EDGES = " \t\r\n.,;:!?\"'`*()[]{}<>«»“”‘’"


def normalise(text: str) -> str:
    """Lower-case, NFKC, collapse whitespace, strip punctuation and quotes at both ends."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = re.sub(r"\s+", " ", text)
    return text.strip(_PUNCT_EDGES)


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A whole-word pattern for a normalised phrase: "no" must not match inside "know"."""
    return re.compile(r"(?<!\w)" + re.escape(normalise(phrase)) + r"(?!\w)")
