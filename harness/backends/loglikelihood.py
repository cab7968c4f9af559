"""Log-likelihood scoring of continuations, as lm-evaluation-harness scores its multiple-choice tasks.

A multiple-choice item is one context (the prompt, ending in "Answer:") and one continuation per option
(" A", " B", ...). Each continuation's log-probability given the context is the sum of its tokens'
log-probabilities; the chosen option is the first one with the highest sum (the checker
`harness.checkers.choice_loglik`). The model's input is the context and the continuation without its last
token, so options of one token share it, and are computed once.

The context/continuation split is lm-eval's `TemplateLM._encode_pair`: white space at the end of the context
is moved onto the continuation, the whole text is tokenized once, and the continuation's tokens are those
after the context's own tokenization. Backends that can score (`Backend.supports_loglikelihood`: the
in-process llama.cpp and transformers backends) return one `ContinuationScore` per continuation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ContinuationScore:
    """The log-probability (natural log) of one continuation given the context, whether each of its tokens
    was the most likely one (lm-eval's `is_greedy`), and how many tokens the context and continuation had."""

    logprob: float
    is_greedy: bool
    context_tokens: int
    continuation_tokens: int


def split_pair(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's move of the context's trailing white space onto the continuation."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        return context[:-n_spaces], context[-n_spaces:] + continuation
    return context, continuation


def encode_pair(encode: Callable[[str], list[int]], context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation token ids as lm-eval's `_encode_pair` makes them (causal models)."""
    if not context:
        raise ValueError("log-likelihood scoring needs a non-empty context")
    context, continuation = split_pair(context, continuation)
    whole = encode(context + continuation)
    context_ids = encode(context)
    return context_ids, whole[len(context_ids):]
