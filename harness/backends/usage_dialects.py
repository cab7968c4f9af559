"""How each provider reports the tokens it bills, read into the harness's billing classes.

OpenAI-compatible providers share `prompt_tokens` / `completion_tokens` but not the rest:

- openai, azure_openai, mistral, together, fireworks: cache reads in `prompt_tokens_details.cached_tokens`,
  reasoning in `completion_tokens_details.reasoning_tokens` (part of `completion_tokens`); audio tokens in
  `*_tokens_details.audio_tokens` (billed at audio prices, which the harness does not price: such a request's
  cost stays unknown, with the reason).
- deepseek: cache reads and misses in `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` (their sum is
  `prompt_tokens`).
- xai, gemini: reasoning (thinking) tokens may be reported apart from `completion_tokens`; `total_tokens`
  says which (prompt + completion + reasoning when apart). Either way they are billed as output.
- groq: the usage of a stream arrives in the last chunk's `x_groq.usage`.
- openrouter: `usage.cost`, what OpenRouter charged in USD credits, recorded beside the computed cost.

Anthropic's `message_start` usage splits cache writes by lifetime in `cache_creation`
(`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`), priced differently.

A usage whose fields contradict each other raises `UsageUnreadable`: a count the harness cannot trust is an
error, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class UsageUnreadable(ValueError):
    """A provider's usage that the harness cannot turn into billed token counts."""


@dataclass(frozen=True)
class BilledTokens:
    """Token counts per billing class, as one request was billed (input includes cache reads and writes)."""

    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens written for one hour (Anthropic)
    reasoning_tokens: int | None = None
    provider_cost_usd: float | None = None  # what the provider says it charged (OpenRouter)
    unpriced: str | None = None  # billed tokens of a class the harness has no price for: the cost stays unknown


def chunk_usage(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """The usage object a Chat Completions chunk carries: `usage`, or Groq's `x_groq.usage`; None if neither."""
    usage = chunk.get("usage")
    if usage:
        return usage
    groq = chunk.get("x_groq")
    return groq.get("usage") if isinstance(groq, dict) and groq.get("usage") else None


# Dialects whose reasoning tokens, when `total_tokens` is absent, are documented as apart from completion_tokens.
_REASONING_APART = frozenset({"xai", "gemini"})


def _count(usage: dict[str, Any], *path: str) -> int:
    value: Any = usage
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageUnreadable(f"usage field {'.'.join(path)} is not a token count: {value!r}")
    return value


def read_chat_usage(usage: dict[str, Any], dialect: str | None) -> BilledTokens:
    """Billed token counts from a Chat Completions `usage` object in the provider's dialect (a preset name, or
    None for any other OpenAI-compatible server)."""
    if not isinstance(usage, dict):
        raise UsageUnreadable(f"usage is not an object: {usage!r}")
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    if prompt is None or completion is None:
        raise UsageUnreadable(f"usage without prompt_tokens and completion_tokens: {sorted(usage)}")
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    cached = _count(usage, "prompt_tokens_details", "cached_tokens")
    if "prompt_cache_hit_tokens" in usage or dialect == "deepseek":
        hit, miss = _count(usage, "prompt_cache_hit_tokens"), _count(usage, "prompt_cache_miss_tokens")
        if ("prompt_cache_hit_tokens" in usage or "prompt_cache_miss_tokens" in usage) and hit + miss != prompt:
            raise UsageUnreadable(f"prompt_cache_hit_tokens ({hit}) + prompt_cache_miss_tokens ({miss}) != "
                                  f"prompt_tokens ({prompt})")
        cached = hit if "prompt_cache_hit_tokens" in usage else cached
    if cached > prompt:
        raise UsageUnreadable(f"cached tokens ({cached}) exceed prompt_tokens ({prompt})")
    details = usage.get("completion_tokens_details") or {}
    reasoning = _count(usage, "completion_tokens_details", "reasoning_tokens") \
        if details.get("reasoning_tokens") is not None else None
    output = completion
    if reasoning:
        total = usage.get("total_tokens")
        if total is not None and total == prompt + completion + reasoning and total != prompt + completion:
            output = completion + reasoning  # reported apart (xAI, Gemini): billed as output all the same
        elif total is None and dialect in _REASONING_APART:
            output = completion + reasoning
        elif total is not None and total != prompt + completion:
            raise UsageUnreadable(f"total_tokens ({total}) is neither prompt + completion ({prompt + completion}) "
                                  f"nor prompt + completion + reasoning ({prompt + completion + reasoning})")
        elif reasoning > completion:
            raise UsageUnreadable(f"reasoning_tokens ({reasoning}) exceed completion_tokens ({completion})")
    audio = _count(usage, "prompt_tokens_details", "audio_tokens") + \
        _count(usage, "completion_tokens_details", "audio_tokens")
    cost = usage.get("cost")
    if cost is not None and (not isinstance(cost, (int, float)) or isinstance(cost, bool) or cost < 0):
        raise UsageUnreadable(f"usage.cost is not an amount: {cost!r}")
    return BilledTokens(
        input_tokens=prompt, output_tokens=output, cache_read_tokens=cached, reasoning_tokens=reasoning,
        provider_cost_usd=float(cost) if cost is not None else None,
        unpriced=f"{audio} audio tokens (billed at audio prices, which the harness does not price)" if audio else None,
    )


class AnthropicUsage:
    """Accumulates the usage of a Messages stream: `message_start` gives input, cache reads and writes (by
    lifetime), `message_delta` the cumulative counts (output above all)."""

    def __init__(self) -> None:
        self.input: int | None = None
        self.output: int | None = None
        self.cache_read = 0
        self.cache_write = 0
        self.cache_write_5m: int | None = None
        self.cache_write_1h: int | None = None

    def feed(self, usage: dict[str, Any] | None) -> None:
        """Take the counts one event's usage states (later events update earlier ones: they are cumulative)."""
        if not usage:
            return
        for attr, field in (("input", "input_tokens"), ("output", "output_tokens"),
                            ("cache_read", "cache_read_input_tokens"), ("cache_write", "cache_creation_input_tokens")):
            if usage.get(field) is not None:
                setattr(self, attr, _count(usage, field))
        split = usage.get("cache_creation")
        if isinstance(split, dict):
            self.cache_write_5m = _count(split, "ephemeral_5m_input_tokens")
            self.cache_write_1h = _count(split, "ephemeral_1h_input_tokens")

    def billed(self) -> BilledTokens:
        """The request's billed counts; `UsageUnreadable` when the lifetimes do not add up to the writes."""
        write_1h = self.cache_write_1h or 0
        if self.cache_write_5m is not None and self.cache_write_5m + write_1h != self.cache_write:
            raise UsageUnreadable(f"cache_creation's 5m ({self.cache_write_5m}) + 1h ({write_1h}) writes != "
                                  f"cache_creation_input_tokens ({self.cache_write})")
        return BilledTokens(
            # Anthropic's input_tokens excludes cache reads and writes; the record counts all input
            input_tokens=self.input + self.cache_read + self.cache_write if self.input is not None else None,
            output_tokens=self.output, cache_read_tokens=self.cache_read, cache_write_tokens=self.cache_write,
            cache_write_1h_tokens=write_1h,
        )
