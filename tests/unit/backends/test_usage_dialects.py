"""Usage read per provider dialect: the billing classes each provider's documented usage fields give."""

from __future__ import annotations

import pytest

from harness.backends.usage_dialects import AnthropicUsage, UsageUnreadable, chunk_usage, read_chat_usage


def test_deepseek_cache_hits_are_cache_reads() -> None:
    billed = read_chat_usage({"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
                              "prompt_cache_hit_tokens": 800, "prompt_cache_miss_tokens": 200}, "deepseek")
    assert (billed.input_tokens, billed.cache_read_tokens, billed.output_tokens) == (1000, 800, 10)


def test_deepseek_hit_and_miss_that_do_not_add_up_are_an_error() -> None:
    with pytest.raises(UsageUnreadable, match="prompt_cache_hit_tokens"):
        read_chat_usage({"prompt_tokens": 1000, "completion_tokens": 10, "prompt_cache_hit_tokens": 900,
                         "prompt_cache_miss_tokens": 200}, "deepseek")


def test_openai_cached_and_reasoning_inside_completion() -> None:
    billed = read_chat_usage({"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
                              "prompt_tokens_details": {"cached_tokens": 1024},
                              "completion_tokens_details": {"reasoning_tokens": 256}}, "openai")
    assert (billed.cache_read_tokens, billed.output_tokens, billed.reasoning_tokens) == (1024, 300, 256)


@pytest.mark.parametrize("dialect", ["xai", "gemini", None])
def test_reasoning_reported_apart_is_added_to_output(dialect) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 310,
             "completion_tokens_details": {"reasoning_tokens": 200}}
    assert read_chat_usage(usage, dialect).output_tokens == 210


def test_reasoning_apart_without_total_follows_the_dialect() -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 10, "completion_tokens_details": {"reasoning_tokens": 200}}
    assert read_chat_usage(usage, "xai").output_tokens == 210
    with pytest.raises(UsageUnreadable, match="exceed completion_tokens"):
        read_chat_usage(usage, "openai")


def test_a_total_that_fits_neither_reading_is_an_error() -> None:
    with pytest.raises(UsageUnreadable, match="total_tokens"):
        read_chat_usage({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 999,
                         "completion_tokens_details": {"reasoning_tokens": 20}}, "openai")


def test_audio_tokens_leave_the_request_unpriced() -> None:
    billed = read_chat_usage({"prompt_tokens": 500, "completion_tokens": 20,
                              "prompt_tokens_details": {"audio_tokens": 300}}, "openai")
    assert billed.unpriced.startswith("300 audio tokens")


def test_openrouter_cost_is_kept() -> None:
    billed = read_chat_usage({"prompt_tokens": 10, "completion_tokens": 2, "cost": 0.95}, "openrouter")
    assert billed.provider_cost_usd == 0.95
    with pytest.raises(UsageUnreadable, match="cost"):
        read_chat_usage({"prompt_tokens": 10, "completion_tokens": 2, "cost": "a lot"}, "openrouter")


def test_groq_usage_comes_from_x_groq() -> None:
    assert chunk_usage({"choices": [], "x_groq": {"id": "r", "usage": {"prompt_tokens": 1}}}) == {"prompt_tokens": 1}
    assert chunk_usage({"choices": [], "x_groq": {"id": "r"}}) is None
    assert chunk_usage({"usage": {"prompt_tokens": 2}}) == {"prompt_tokens": 2}


def test_missing_counts_and_non_integers_are_errors() -> None:
    with pytest.raises(UsageUnreadable):
        read_chat_usage({"prompt_tokens": 10}, "openai")
    with pytest.raises(UsageUnreadable):
        read_chat_usage({"prompt_tokens": "10", "completion_tokens": 2}, "openai")


def test_anthropic_cache_writes_split_by_lifetime() -> None:
    usage = AnthropicUsage()
    usage.feed({"input_tokens": 50, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 2000,
                "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
                "output_tokens": 1})
    usage.feed({"output_tokens": 120})  # message_delta: cumulative
    billed = usage.billed()
    assert (billed.input_tokens, billed.cache_write_tokens, billed.cache_write_1h_tokens, billed.output_tokens) == \
        (5050, 3000, 2000, 120)


def test_anthropic_split_that_does_not_add_up_is_an_error() -> None:
    usage = AnthropicUsage()
    usage.feed({"input_tokens": 5, "cache_creation_input_tokens": 100,
                "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}})
    with pytest.raises(UsageUnreadable, match="cache_creation"):
        usage.billed()
