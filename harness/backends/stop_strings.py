"""Stop strings in streamed text: what is safe to show as tokens arrive, and where the answer ends.

Text that could be the start of a stop string is held back until the next token settles it, so a chunk
never shows part of a stop string; the text before the earliest stop string is the answer.
"""

from __future__ import annotations


def held_back(text: str, stops: list[str]) -> int:
    """Length of the longest suffix of `text` that could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


class StopScanner:
    """Fed the whole text decoded so far, returns the new text safe to show and whether a stop string ended it."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.shown = 0
        self._longest = max((len(s) for s in self.stops), default=0)

    def feed(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            fresh, self.shown = text[self.shown:], len(text)
            return fresh, False
        start = max(0, self.shown - self._longest)
        hits = [i for i in (text.find(s, start) for s in self.stops) if i >= 0]
        if hits:
            cut = min(hits)
            fresh = text[self.shown:cut] if cut > self.shown else ""
            self.shown = max(self.shown, cut)
            return fresh, True
        safe = len(text) - held_back(text, self.stops)
        fresh = text[self.shown:safe] if safe > self.shown else ""
        self.shown = max(self.shown, safe)
        return fresh, False

    def rest(self, text: str) -> str:
        """What is left to show when the text ends without a stop string (held-back text included)."""
        fresh, self.shown = text[self.shown:], len(text)
        return fresh
