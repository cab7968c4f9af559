"""Multiple choice scored by log-likelihood, as lm-evaluation-harness's `multiple_choice` tasks are.

The model is not asked to write an answer: each option's continuation (" A", " B", ...) is scored by its
log-probability after the prompt (`harness.backends.loglikelihood`), and the chosen option is the first with
the highest sum (`acc`), or with the highest sum per character of the option's text (`acc_norm`, reported
as a sub-score when the suite lists it). `expected` is the gold option's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict
from harness.config.model_config import StrictModel


def _argmax(values: Sequence[float]) -> int:
    return int(np.argmax(np.asarray(values, dtype=float)))


class LoglikelihoodChecker(StrictModel):
    """Correct when the option with the highest log-likelihood is the gold one (`acc`); `acc_norm` in
    `metrics` adds lm-eval's length-normalised choice as a sub-score, over the option texts `norm_texts`
    (lm-eval divides by the length of the choice without the target delimiter: "A", not " A")."""

    kind: Literal["loglikelihood"] = "loglikelihood"
    metrics: list[Literal["acc", "acc_norm"]] = Field(default_factory=lambda: ["acc"], min_length=1)

    def check(self, output: str, expected: Any) -> Verdict:
        return Verdict(ERROR, detail="scored by log-likelihood: this record has no option scores (a generated "
                                     "reply cannot be scored by this checker)")

    def check_scores(self, logprobs: Sequence[float], choices: Sequence[str], expected: Any) -> Verdict:
        """The verdict from each option's log-likelihood (in the order of `choices`)."""
        if isinstance(expected, bool) or not isinstance(expected, int) or not 0 <= expected < len(choices):
            return Verdict(ERROR, detail=f"expected {expected!r} is not the index of one of {len(choices)} options")
        if len(logprobs) != len(choices):
            return Verdict(ERROR, detail=f"{len(logprobs)} scores for {len(choices)} options")
        pick = _argmax(logprobs)
        scores = None
        if "acc_norm" in self.metrics:
            lengths = np.array([float(len(c.lstrip(" "))) for c in choices])
            scores = {"acc_norm": _argmax(np.asarray(logprobs, dtype=float) / lengths) == expected}
        return Verdict(CORRECT if pick == expected else INCORRECT, extracted=choices[pick].strip(),
                       detail=f"argmax of {len(choices)} log-likelihoods", scores=scores)
