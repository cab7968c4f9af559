"""The context/continuation split of log-likelihood scoring, as lm-eval's `_encode_pair` makes it."""

from __future__ import annotations

import pytest

from harness.backends.loglikelihood import encode_pair, split_pair


def _words(text: str) -> list[int]:
    """A toy tokenizer whose tokens keep their leading space (" A" is one token, as in BPE vocabularies)."""
    tokens, current = [], ""
    for char in text:
        if char == " " and current.strip():
            tokens.append(current)
            current = ""
        current += char
    return [hash(t) % 1000 for t in [*tokens, current] if t]


def test_trailing_space_moves_onto_the_continuation():
    assert split_pair("Answer: ", "A") == ("Answer:", " A")
    assert split_pair("Answer:\n\n", "A") == ("Answer:", "\n\nA")
    assert split_pair("Answer:", " A") == ("Answer:", " A")


def test_continuation_tokens_are_the_whole_texts_tail():
    context, continuation = encode_pair(_words, "Question: x?\nAnswer:", " B")
    assert context == _words("Question: x?\nAnswer:") and continuation == _words(" B")
    # with the space on the context side the split is the same as with it on the continuation
    assert encode_pair(_words, "Question: x?\nAnswer: ", "B") == (context, continuation)
    with pytest.raises(ValueError, match="non-empty context"):
        encode_pair(_words, "", " A")
