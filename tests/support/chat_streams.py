"""A chat prompt of one question, and a backend stream's items read back as (answer text, usage)."""

from __future__ import annotations

from harness.backends import Prompt, Usage


def chat(question: str, max_tokens: int, **extra) -> Prompt:
    """A one-turn chat prompt."""
    return Prompt(style="chat", max_tokens=max_tokens, messages=[{"role": "user", "content": question}], **extra)


def answer(items) -> tuple[str, Usage]:
    """The answer text of a stream's items and its one `Usage`."""
    return "".join(i for i in items if isinstance(i, str)), next(i for i in items if isinstance(i, Usage))
