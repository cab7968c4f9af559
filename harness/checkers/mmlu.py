"""MMLU (and any four-option multiple choice) scored from a generated reply: which letter A-D did it give?

The checker option `rule` names whose reading of the reply decides; it is recorded with every verdict.

`lm_eval` (the default): lm-evaluation-harness's `mmlu_generative` task (0.4, task version 3). Its filter
    `get_response` keeps the reply's first line (regex `^(.*?)(?=\\n|$)`, first match), strips white space,
    drops trailing white space (regex `^(.*?)\\s*$`), and its metric `exact_match` (ignore_case,
    ignore_punctuation: `string.punctuation` removed) compares that with the letter. So "B", "b.", "(B)",
    "**B**" and " B\\nbecause" are B; "B) Paris", "ANSWER: B" and "Ｂ" are not. Tested against lm-eval's own
    filter pipeline and metric (tests/unit/checkers/test_lm_eval_rules.py).
`inspect`: Inspect's `multiple_choice` solver and `choice` scorer (inspect_ai, commit fb426be): the first line
    `ANSWER: ...` (regex `(?i)^ANSWER\\s*:\\s*([A-Za-z ,]+)\\s*(?:$|\\n)`, multi-line), else anywhere
    `(?i)ANSWER\\s*:\\s*([A-Za-z ,]+)(?:[^\\w]|\\n|$)`; every letter of the match marks its option (case
    ignored; letters past D mark nothing), and the reply is correct when the marked options are exactly the
    expected one ("ANSWER: c" is C; "ANSWER: B, C" and "ANSWER: C because" mark several and are wrong).
    A reply with no match is incorrect here (Inspect's scorer raises for it).
`simple_evals`: OpenAI simple-evals' `mmlu_eval`: markdown and LaTeX wrappers removed from the reply, then
    the first `Answer:` marker (in any of its languages; English here) followed by a letter A-D (or its
    full-width, Arabic or Bengali form, mapped back to A-D), case-insensitive.
The `inspect` and `simple_evals` rules are re-implemented from those projects' published source; their
packages are not installed here, so they are not run against them.
`harness`: this project's earlier, more lenient rule (labelled as the harness's own wherever it is used):
    1. every `ANSWER: X` marker, case-insensitive, a letter optionally wrapped in `**`, `$`, `(`, `[` or
       quotes; when the markers name one letter, that is the answer. 2. Otherwise the reply (NFKC; leading
       white space, markdown, quotes and brackets dropped) must begin with a letter A-D standing alone. A
       reply naming more than one letter ("A or B", "ANSWER: A ... ANSWER: C") counts as no single answer.
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any, ClassVar, Literal

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


_FIRST_LINE = re.compile(r"^(.*?)(?=\n|$)")
_NO_TRAILING_SPACE = re.compile(r"^(.*?)\s*$")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_INSPECT_STRICT = re.compile(r"(?i)^ANSWER\s*:\s*([A-Za-z ,]+)\s*(?:$|\n)", flags=re.MULTILINE)
_INSPECT_LOOSE = re.compile(r"(?i)ANSWER\s*:\s*([A-Za-z ,]+)(?:[^\w]|\n|$)")
_SIMPLE_EVALS = re.compile(r"(?i)Answer\s*:[ \t]*([A-D]|[أ-د]|[অ]|[ব]|[ড]|[ঢ]|[Ａ]|[Ｂ]|[Ｃ]|[Ｄ])")
_SIMPLE_EVALS_WRAPPERS = ("**", "$\\boxed{", "}$", "\\$", "$\\text{", "$", "\\mathrm{", "\\{", "\\text", "\\(",
                          "\\mathbf{", "{", "\\boxed")
_SIMPLE_EVALS_LETTERS = {"أ": "A", "ب": "B", "ج": "C", "د": "D", "অ": "A", "ব": "B", "ড": "C", "ঢ": "D",
                         "Ａ": "A", "Ｂ": "B", "Ｃ": "C", "Ｄ": "D"}


def _first(pattern: re.Pattern[str], text: str) -> str:
    """lm-eval's RegexFilter with group_select 0: the first match, stripped; `[invalid]` when none."""
    found = pattern.findall(text)
    return found[0].strip() if found else "[invalid]"


def lm_eval_response(reply: str) -> str:
    """The answer lm-eval's `mmlu_generative` filter (`get_response`) keeps: the first line, trimmed."""
    return _first(_NO_TRAILING_SPACE, _first(_FIRST_LINE, reply).strip())


def lm_eval_match(response: str, letter: str) -> bool:
    """lm-eval's exact_match with ignore_case and ignore_punctuation."""
    return response.lower().translate(_PUNCTUATION) == letter.lower().translate(_PUNCTUATION)


def inspect_answer(reply: str) -> str | None:
    """The options Inspect's multiple_choice marks from the reply (letters joined by "/"), or None."""
    match = _INSPECT_STRICT.search(reply) or _INSPECT_LOOSE.search(reply)
    if match is None or not match.group(1):
        return None
    marked = sorted({letter.upper() for letter in match.group(1) if letter.upper() in LETTERS})
    return "/".join(marked)


def simple_evals_answer(reply: str) -> str | None:
    """The answer simple-evals' MMLU reads after its `Answer:` marker, or None."""
    for wrapper in _SIMPLE_EVALS_WRAPPERS:
        reply = reply.replace(wrapper, "")
    match = _SIMPLE_EVALS.search(reply)
    if match is None:
        return None
    return _SIMPLE_EVALS_LETTERS.get(match.group(1), match.group(1)).strip()


class MmluChecker(StrictModel):
    """Correct when the reply's answer, read by `rule`, is the expected letter.

    `expected` is the letter ("A".."D"), or the option's index 0-3 as the cais/mmlu dataset stores it.
    """

    kind: Literal["mmlu"] = "mmlu"
    rule: Literal["lm_eval", "inspect", "simple_evals", "harness"] = "lm_eval"
    rule_labels: ClassVar[dict[str, str]] = {
        "lm_eval": "lm-eval mmlu_generative", "inspect": "Inspect multiple_choice",
        "simple_evals": "simple-evals mmlu", "harness": "harness (own rule)"}

    def check(self, output: str, expected: Any) -> Verdict:
        if isinstance(expected, int) and not isinstance(expected, bool) and 0 <= expected < len(LETTERS):
            expected = LETTERS[expected]
        target = str(expected).strip().upper()
        if target not in LETTERS or not target:
            return Verdict(ERROR, detail=f"expected answer {expected!r} is not a letter A-D")
        label = f"rule: {self.rule_labels[self.rule]}"
        if self.rule == "lm_eval":
            response = lm_eval_response(output)
            ok = lm_eval_match(response, target)
            return Verdict(CORRECT if ok else INCORRECT, extracted=response, detail=label)
        if self.rule in ("inspect", "simple_evals"):
            answer = inspect_answer(output) if self.rule == "inspect" else simple_evals_answer(output)
            if answer is None:
                return Verdict(INCORRECT, detail=f"{label}; no answer")
            return Verdict(CORRECT if answer == target else INCORRECT, extracted=answer, detail=label)
        letters, how = extract_choice(output)
        if not letters:
            return Verdict(INCORRECT, detail=f"{label}; no answer letter in reply")
        if len(letters) > 1:
            return Verdict(INCORRECT, extracted="/".join(letters), detail=f"{label}; names {len(letters)} letters "
                                                                          f"({how})")
        ok = letters[0] == target
        return Verdict(CORRECT if ok else INCORRECT, extracted=letters[0], detail=f"{label}; {how}")
