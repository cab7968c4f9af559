"""The bookkeeping of a batched decoder that needs no tensors: the left-padded layout of the rows sharing one
KV cache, and each row's text (token ids -> one text event per token, stop strings, usage).

`harness.backends.transformers_batched` drives these with torch; kept apart so that their arithmetic is tested
without a model.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.backends.base import Usage
from harness.backends.stop_strings import StopScanner


class PaddedLayout:
    """Rows of one left-padded KV cache: the cache is `width` columns wide, row i holds its `lengths[i]` real
    tokens in the rightmost columns (the rest is padding the attention mask hides)."""

    def __init__(self) -> None:
        self.width = 0
        self.lengths: list[int] = []

    def add(self, length: int) -> tuple[int, int]:
        """Append a row of `length` cached tokens; returns (columns to pad the existing rows by on the left,
        columns to pad the new row by on the left)."""
        new_width = max(self.width, length)
        pads = (new_width - self.width if self.lengths else 0, new_width - length)
        self.width = new_width
        self.lengths.append(length)
        return pads

    def keep(self, indices: list[int]) -> int:
        """Keep only the rows at `indices` (in that order); returns how many leading columns are now padding in
        every row and are dropped (0 when no row is left: the layout is empty)."""
        self.lengths = [self.lengths[i] for i in indices]
        if not self.lengths:
            self.width = 0
            return 0
        trim = self.width - max(self.lengths)
        self.width -= trim
        return trim

    def step(self) -> None:
        """One token appended to every row."""
        self.width += 1
        self.lengths = [n + 1 for n in self.lengths]

    def pads(self) -> list[int]:
        """Each row's padding columns on the left (its attention mask is 0 there, 1 after)."""
        return [self.width - n for n in self.lengths]

    def positions(self) -> list[int]:
        """The position id of each row's next token (its own count of real tokens, padding not counted)."""
        return list(self.lengths)


class RowText:
    """Generated token ids of one request -> its text events: one per token (empty while text is held back: a
    character split across tokens, or a possible start of a stop string), then the rest and the `Usage`.

    `decode` turns the whole id list into text (the tokenizer's own decode, special tokens skipped); the text
    shown is always a prefix of that decode, as the one-at-a-time path shows it."""

    def __init__(self, decode: Callable[[list[int]], str], stops: list[str], eos: set[int], n_prompt: int,
                 max_tokens: int) -> None:
        self._decode, self._scanner, self._eos = decode, StopScanner(stops), eos
        self.n_prompt, self.max_tokens = n_prompt, max_tokens
        self.ids: list[int] = []
        self._text = ""
        self.stopped = False  # a stop string ended it
        self.ended = False  # an end-of-sequence token ended it

    def feed(self, token: int) -> str:
        """The answer text this token releases ("" while held back); sets `stopped` / `ended`."""
        if token in self._eos:
            self.ended = True
            return ""
        self.ids.append(token)
        text = self._decode(self.ids)
        if text.endswith("\ufffd"):  # a character split across tokens: wait for the rest
            return ""
        self._text = text
        fresh, self.stopped = self._scanner.feed(text)
        return fresh

    @property
    def done(self) -> bool:
        """Whether the request has ended: a stop string, an end-of-sequence token, or max_tokens generated."""
        return self.stopped or self.ended or len(self.ids) >= self.max_tokens

    def end(self) -> list[str | Usage]:
        """The last block: text held back for a stop string that never came (part of the answer), the usage."""
        block: list[str | Usage] = []
        if not self.stopped:
            text = self._decode(self.ids) if self.ids else ""
            rest = self._scanner.rest(text)
            if rest:
                block.append(rest)
        finish = "stop" if self.stopped or self.ended else "length"
        block.append(Usage(input_tokens=self.n_prompt, output_tokens=len(self.ids), input_tokens_source="runtime",
                           output_tokens_source="runtime", finish_reason=finish))
        return block
