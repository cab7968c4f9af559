"""Verifiable instruction following, in the spirit of IFEval (Zhou et al., 2023): each task lists rules
that can be checked mechanically, and the output is correct only when every rule holds.

Rules (each a one-key mapping in `rules:`):
  max_words / min_words: N        words = runs of letters, digits, apostrophes and hyphens
  max_sentences / min_sentences: N  sentences end with . ! or ? (or the end of the text)
  include: [words]                each must appear as a whole word (case-insensitive)
  exclude: [words]                none may appear as a whole word
  lowercase: true / uppercase: true   no upper-case (lower-case) letter anywhere
  bullets: N                      exactly N lines starting with "- " or "* "
  numbered: N                     exactly N lines starting with "1." ... "N."
  starts_with / ends_with: text   after trimming whitespace (case-insensitive)
  no_commas: true                 no comma at all
  json: true                      the whole output (fences allowed) parses as JSON
  paragraphs: N                   exactly N blocks separated by blank lines
  title: true                     contains a title in double angle brackets, <<like this>>
  quoted: true                    wrapped in double quotes
  max_capital_words: N            at most N words written in capitals
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from harness.checkers.structured import extract_json
from harness.checkers.verdict import CORRECT, INCORRECT, Verdict
from harness.config.model_config import StrictModel

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if re.search(r"\w", s)])


def _has_word(text: str, word: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text, re.IGNORECASE) is not None


def _json_ok(text: str) -> bool:
    stripped = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        json.loads(stripped)
        return True
    except json.JSONDecodeError:
        try:
            extract_json(text)
            return stripped.startswith(("{", "["))
        except ValueError:
            return False


def _lines(text: str, pattern: str) -> int:
    return len([line for line in text.splitlines() if re.match(pattern, line.strip())])


RULES: dict[str, Any] = {
    "max_words": lambda text, n: len(_words(text)) <= n,
    "min_words": lambda text, n: len(_words(text)) >= n,
    "max_sentences": lambda text, n: _sentences(text) <= n,
    "min_sentences": lambda text, n: _sentences(text) >= n,
    "include": lambda text, words: all(_has_word(text, w) for w in words),
    "exclude": lambda text, words: not any(_has_word(text, w) for w in words),
    "lowercase": lambda text, on: (text == text.lower()) == on,
    "uppercase": lambda text, on: (text == text.upper()) == on,
    "bullets": lambda text, n: _lines(text, r"[-*] \S") == n,
    "numbered": lambda text, n: _lines(text, r"\d+[.)] \S") == n,
    "starts_with": lambda text, s: text.strip().lower().startswith(s.lower()),
    "ends_with": lambda text, s: text.strip().lower().endswith(s.lower()),
    "no_commas": lambda text, on: ("," not in text) == on,
    "json": lambda text, on: _json_ok(text) == on,
    "paragraphs": lambda text, n: len([p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]) == n,
    "title": lambda text, on: (re.search(r"<<[^<>\n]+>>", text) is not None) == on,
    "quoted": lambda text, on: (len(text.strip()) >= 2 and text.strip()[0] == '"' and text.strip()[-1] == '"') == on,
    "max_capital_words": lambda text, n: len([w for w in _words(text) if len(w) > 1 and w.isupper()]) <= n,
}


class InstructionChecker(StrictModel):
    """Correct when every rule holds; the detail names the rules that failed."""

    kind: Literal["ifeval"] = "ifeval"
    rules: list[dict[str, Any]] = Field(min_length=1)
    needs_expected: ClassVar[bool] = False  # the rules are the expectation

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for rule in rules:
            if len(rule) != 1 or next(iter(rule)) not in RULES:
                raise ValueError(f"each rule is one of {', '.join(RULES)} with its value, got {rule!r}")
        return rules

    def check(self, output: str, expected: Any) -> Verdict:
        failed = [name for rule in self.rules for name, value in rule.items() if not RULES[name](output, value)]
        if failed:
            return Verdict(INCORRECT, detail="failed: " + ", ".join(failed))
        return Verdict(CORRECT)
