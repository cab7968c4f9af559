"""The cost formula against genai-prices' own calculation, including tiers, time-of-day prices and
missing cache prices; Retry-After parsing and the backoff policy."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from harness.backends.failures import RequestFailed, classify_status, parse_retry_after
from harness.cost.pricing import PriceNotFound, Prices, TokenUsage, cost_usd, lookup_prices
from harness.execution.retry import RetryPolicy

WHEN = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("provider", "model", "usage"), [
    ("openai", "gpt-5-mini", TokenUsage(1000, 500, cache_read_tokens=200)),
    ("anthropic", "claude-haiku-4-5", TokenUsage(1000, 500, cache_read_tokens=200, cache_write_tokens=100)),
    ("mistral", "mistral-large-latest", TokenUsage(1000, 500, cache_read_tokens=200)),   # no cache price
    ("openai", "gpt-6.1-sol", TokenUsage(300_000, 2_000, cache_read_tokens=10_000)),       # above a tier
    ("openai", "gpt-6.1-sol", TokenUsage(1_000, 2_000)),                                   # below it
    ("google", "gemini-2.5-pro", TokenUsage(250_000, 1_000)),
])
def test_cost_equals_genai_prices_calc_price(provider, model, usage):
    prices = lookup_prices(provider, model, WHEN, usage.input_tokens)
    reference = calc_price(Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                 cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens),
                           model, provider_id=provider, genai_request_timestamp=WHEN)
    assert cost_usd(prices, usage) == reference.total_price


def test_time_of_day_prices_follow_the_request_time():
    day = lookup_prices("deepseek", "deepseek-chat", dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))
    night = lookup_prices("deepseek", "deepseek-chat", dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC))
    assert day.input_usd_per_mtok != night.input_usd_per_mtok
    assert day.as_of.startswith("2026-12-01T12:00")


def test_formula_by_hand():
    prices = Prices(Decimal("2"), Decimal("10"), Decimal("0.2"), Decimal("2.5"), source="s", as_of="d")
    usage = TokenUsage(input_tokens=1000, output_tokens=100, cache_read_tokens=300, cache_write_tokens=200)
    # (500·2 + 300·0.2 + 200·2.5 + 100·10) / 1e6
    assert cost_usd(prices, usage) == Decimal("0.00256")
    assert cost_usd(None, usage) is None and cost_usd(prices, None) is None


def test_unknown_model_is_not_priced():
    with pytest.raises(PriceNotFound):
        lookup_prices("openai", "no-such-model-xyz", WHEN)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"retry-after": "Tue, 01 Dec 2026 12:00:10 GMT"}, 10.0),
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_parse_retry_after(headers, seconds):
    now = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after(headers, now=now) == seconds


def test_backoff_is_capped_jittered_and_yields_to_retry_after():
    policy = RetryPolicy(max_attempts=8, base_s=0.5, cap_s=4.0, max_wait_s=60)
    rng = random.Random(7)
    for attempt in range(1, 8):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        delays = [policy.delay_s(attempt, None, rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > 0.8 * ceiling       # full jitter spreads over the whole range
    assert policy.delay_s(1, 7.0) == 7.0
    assert policy.delay_s(1, 600.0) == 60.0      # a server asking for 10 minutes gets the cap


def test_error_classes():
    assert [classify_status(s) for s in (429, 408, 500, 503, 401, 403, 400, 404)] == [
        "rate_limited", "timeout", "server_error", "server_error", "auth", "auth", "bad_request", "bad_request"]
    assert RequestFailed("rate_limited", "x").retryable and not RequestFailed("bad_request", "x").retryable
    assert not RequestFailed("malformed_stream", "x").retryable
