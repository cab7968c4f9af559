"""GSM8K scored as lm-evaluation-harness scores its `gsm8k` task (task version 3), so that a figure can stand
beside published ones.

Two extractions of the model's answer, both reported (as `scores`):
  strict_match      the first `#### N` in the reply: regex `#### (\\-?[0-9\\.\\,]+)`, first match.
  flexible_extract  the last number-like run in the reply: regex `(-?[$0-9.,]{2,})|(-?[0-9]+)`, last match
                    (the first non-empty group of it).
A reply with no match extracts lm-eval's fallback `[invalid]`. The extracted text is stripped, then the
prediction and the reference (the dataset's full `answer`, "... #### 72") go through lm-eval's
`exact_match` with the same options: remove `,`, remove `$`, remove everything up to and including
`#### `, remove one trailing `.`, lower-case; correct when the two strings are equal. Nothing else is
normalised: `72.00` against `72` is wrong, as it is in lm-eval.

Headline verdict: `strict_match` by default. It is lm-eval's first filter, the one the Open LLM Leaderboard
(v1) reported, and it cannot credit a number that merely happens to come last in a rambling reply. A suite
whose prompt does not ask for the `#### N` form (0-shot chat) should set `headline: flexible_extract`,
which is what lm-eval's flexible filter exists for. Both figures are recorded either way.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from harness.checkers.verdict import CORRECT, INCORRECT, Verdict
from harness.config.model_config import StrictModel

STRICT_PATTERN = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE_PATTERN = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
FALLBACK = "[invalid]"
# lm-eval's `regexes_to_ignore` for gsm8k, applied in this order to prediction and reference alike.
IGNORE_PATTERNS = (re.compile(","), re.compile(r"\$"), re.compile(r"(?s).*#### "), re.compile(r"\.$"))


def _select(pattern: re.Pattern[str], text: str, group_select: int) -> str:
    """lm-eval's RegexFilter: findall, pick one match, take its first non-empty group, strip."""
    matches = pattern.findall(text)
    if not matches:
        return FALLBACK
    match = matches[group_select]
    if isinstance(match, tuple):
        match = next((group for group in match if group), FALLBACK)
    return match.strip()


def strict_extract(reply: str) -> str:
    """The `strict-match` filter's answer: the first `#### N`, or `[invalid]`."""
    return _select(STRICT_PATTERN, reply, 0)


def flexible_extract(reply: str) -> str:
    """The `flexible-extract` filter's answer: the last number-like run, or `[invalid]`."""
    return _select(FLEXIBLE_PATTERN, reply, -1)


def exact_match_normalise(text: str) -> str:
    """lm-eval's exact_match preprocessing with gsm8k's options (regexes ignored, case ignored)."""
    for pattern in IGNORE_PATTERNS:
        text = pattern.sub("", text)
    return text.lower()


class Gsm8kChecker(StrictModel):
    """Correct when the headline extraction equals the reference answer after lm-eval's normalisation.

    `expected` is the dataset's full `answer` string (working, then `#### N`), or the bare number.
    """

    kind: Literal["gsm8k"] = "gsm8k"
    headline: Literal["strict_match", "flexible_extract"] = "strict_match"
    score_keys: ClassVar[tuple[str, ...]] = ("strict_match", "flexible_extract")

    def check(self, output: str, expected: Any) -> Verdict:
        reference = exact_match_normalise(str(expected))
        extracted = {"strict_match": strict_extract(output), "flexible_extract": flexible_extract(output)}
        scores = {name: exact_match_normalise(value) == reference for name, value in extracted.items()}
        chosen = extracted[self.headline]
        detail = f"strict-match {extracted['strict_match']!r}, flexible-extract {extracted['flexible_extract']!r}"
        return Verdict(CORRECT if scores[self.headline] else INCORRECT, extracted=chosen, detail=detail,
                       scores=scores)
