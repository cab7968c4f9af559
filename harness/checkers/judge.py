"""A model as the judge: off by default, enabled with `harness run --judge MODEL` (a models.yaml entry).

The judge gets the task's question, the reference answer (if the task has one), the rubric and the
answer to grade, and must end its reply with PASS or FAIL. Its reply, tokens and cost are recorded in the
record's `judge` field, apart from the judged model's own cost. Without `--judge` the verdict is `error`
(unscored), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict
from harness.config.model_config import StrictModel

TEMPLATE = """You are grading an answer against a rubric. Be strict and brief.

Question:
{question}

{reference}Rubric:
{rubric}

Answer to grade:
{answer}

Explain in at most two sentences, then write PASS or FAIL alone on the last line."""

_FINAL = re.compile(r"\b(PASS|FAIL)\b")


class JudgeChecker(StrictModel):
    """Correct when the judge model's last PASS/FAIL says PASS."""

    kind: Literal["judge"] = "judge"
    rubric: str = Field(min_length=1)
    needs_expected: ClassVar[bool] = False
    needs_judge: ClassVar[bool] = True

    def check(self, output: str, expected: Any, judge: Callable[[str], dict[str, Any]] | None = None,
              question: str | None = None) -> Verdict:
        if judge is None:
            return Verdict(ERROR, detail="judge checker is off: run with --judge MODEL to score this task")
        reference = f"Reference answer:\n{expected}\n\n" if expected is not None else ""
        reply = judge(TEMPLATE.format(question=question or "", reference=reference, rubric=self.rubric, answer=output))
        if reply.get("error"):
            return Verdict(ERROR, detail=f"judge failed: {reply['error'].get('message')}", judge=reply)
        found = _FINAL.findall(reply.get("text") or "")
        if not found:
            return Verdict(ERROR, detail="the judge gave no PASS or FAIL", judge=reply)
        return Verdict(CORRECT if found[-1] == "PASS" else INCORRECT, extracted=found[-1], judge=reply)
