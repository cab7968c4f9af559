"""Synthetic prompts built to an exact token count with each model's own tokenizer.

A workload task (harness.suites.workload) asks for N input tokens, of which the first P (content tokens at
the start of the user message) are shared by every request with the same prefix id. The text is a
deterministic sequence of common English words (fixed by the task id, or the prefix id), so runs repeat
exactly and models see the same words. The count includes everything the runtime evaluates: the chat
template's tokens too. The number of words is found by bisection on the model's own count; where the
last word adds more than one token, it is swapped for a shorter one until the count is exact.

A model without a tokenizer the harness can use (an API) gets one word per wanted token, the usual
tokenizers' rate for these words; the record says so (`sized_by: approximate`) and keeps the provider's
own count beside the target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.backends import Backend, Prompt

# Short, frequent words: one token each in the common BPE/SentencePiece vocabularies (with a leading space).
WORDS = """the of and to in is was for on that with as by at from his her are were this which be or an had
not but all have they one has their been its who more time new would there can other some first also what
after many about than into only two most over years people city water world state year made work when up
used part during so school day system may out such like three where between these life found both while each
house under early name south north known then before very through music good great back well long family
river since west late small game around high film book she him them our being any end land still group war
government area place set number light road old book sea point home made way make sun land tree red blue
green black white wind rain snow stone fire gold field hill lake park farm town king""".split()
SAFE_PAD = ["a", "the", "of", "and", "to", "in", "is"]


def words_for(key: str, n: int) -> list[str]:
    """`n` words fixed by `key` (a task or prefix id): the same on every run and for every model."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    return [WORDS[i] for i in rng.integers(0, len(WORDS), size=n)]


def _exact(count: Callable[[list[str]], int], words_at: Callable[[int], list[str]], target: int,
           lower: int) -> list[str] | None:
    """Words whose count is exactly `target`, or None: bisect on the number of words, then fix the last."""
    lo, hi = lower, max(lower + 1, target)
    while count(words_at(hi)) < target:
        hi *= 2
    while lo < hi:  # smallest n with count >= target
        mid = (lo + hi) // 2
        if count(words_at(mid)) >= target:
            hi = mid
        else:
            lo = mid + 1
    words = words_at(lo)
    if count(words) == target:
        return words
    for n_swapped in (1, 2, 3):  # the last word(s) added too much: try shorter ones in their place
        if n_swapped > lo:  # only the words this call added may change (never a shared prefix)
            break
        base = words[:-n_swapped]
        for pad in _pads(n_swapped):
            if count(base + pad) == target:
                return base + pad
    return None


def _pads(n: int) -> list[list[str]]:
    if n == 1:
        return [[w] for w in SAFE_PAD]
    return [[a, *rest] for a in SAFE_PAD for rest in _pads(n - 1)][:60]


def _counted(n_tokens: int | None) -> int:
    # only exact sizing counts, and PromptSizer found that this backend's tokenizer counts (None: it cannot)
    assert n_tokens is not None, "exact sizing needs a backend that counts tokens"
    return n_tokens


class PromptSizer:
    """Builds a workload task's prompt for one loaded backend, to the exact input-token count."""

    def __init__(self, backend: Backend, style: str) -> None:
        self.backend = backend
        self.style = style
        probe = self._prompt("x", max_tokens=1)
        self.exact = backend.count_prompt_tokens(probe) is not None and backend.count_text_tokens("x") is not None
        self._prefixes: dict[tuple[str, int], list[str]] = {}

    def _prompt(self, text: str, **options: Any) -> Prompt:
        if self.style == "completion":
            return Prompt(style="completion", text=text, **options)
        return Prompt(style="chat", messages=[{"role": "user", "content": text}], **options)

    def _prefix_words(self, prefix_id: str, n_tokens: int) -> list[str]:
        key = (prefix_id, n_tokens)
        if key not in self._prefixes:
            if not self.exact:
                self._prefixes[key] = words_for(f"prefix/{prefix_id}", n_tokens)
            else:
                def count(ws: list[str]) -> int:
                    return _counted(self.backend.count_text_tokens(" ".join(ws)))
                found = _exact(count, lambda n: words_for(f"prefix/{prefix_id}", n), n_tokens, 1)
                if found is None:
                    raise ValueError(f"cannot build a prefix of exactly {n_tokens} tokens")
                self._prefixes[key] = found
        return self._prefixes[key]

    def build(self, task_id: str, shape: Any) -> tuple[Prompt, dict[str, Any]]:
        """The prompt for one workload task, and what the record keeps about how it was sized."""
        prefix = self._prefix_words(shape.prefix_id, shape.prefix_tokens) if shape.prefix_id else []
        options = {"max_tokens": shape.output_tokens, "ignore_eos": True, "reuse_prefix": shape.reuse_prefix}
        info = {"input_tokens_target": shape.input_tokens, "output_tokens_target": shape.output_tokens,
                "prefix_id": shape.prefix_id, "prefix_tokens": shape.prefix_tokens if shape.prefix_id else 0,
                "reuse_prefix": shape.reuse_prefix and self.backend.supports_prefix_reuse,
                "ignore_eos": self.backend.supports_ignore_eos,
                "sized_by": "model tokenizer" if self.exact else "approximate (one word per token)"}

        def words_at(n: int) -> list[str]:
            return prefix + words_for(f"task/{task_id}", n)

        def count(ws: list[str]) -> int:
            return _counted(self.backend.count_prompt_tokens(self._prompt(" ".join(ws), **options)))

        if self.exact:
            floor = count(words_at(0))
            if floor > shape.input_tokens:
                raise ValueError(f"{shape.input_tokens} input tokens are fewer than the {floor} that the chat template"
                                 + (" and the shared prefix" if prefix else "") + " already take")
            words = _exact(count, words_at, shape.input_tokens, 0)
            if words is None:
                raise ValueError(f"cannot build a prompt of exactly {shape.input_tokens} tokens")
        else:
            words = words_at(max(shape.input_tokens - len(prefix), 0))
        return self._prompt(" ".join(words), **options), info
