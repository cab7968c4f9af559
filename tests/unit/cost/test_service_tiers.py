"""Service tiers: genai-prices' tier prices where it has them, else the dated table; never standard in disguise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from harness.cost.pricing import PriceNotFound, Prices, TokenUsage, cost_usd, lookup_prices, provider_cost_check
from harness.cost.service_tiers import TIER_TABLE, tier_table_rows

pytest.importorskip("genai_prices")
WHEN = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_batch_from_genai_prices_halves_anthropic_prices_and_keeps_the_1h_write_price() -> None:
    standard = lookup_prices("anthropic", "claude-sonnet-4-5", WHEN)
    batch = lookup_prices("anthropic", "claude-sonnet-4-5", WHEN, tier="batch")
    assert batch.input_usd_per_mtok * 2 == standard.input_usd_per_mtok
    assert batch.output_usd_per_mtok * 2 == standard.output_usd_per_mtok
    assert batch.cache_write_1h_usd_per_mtok == Decimal(3) and batch.tier == "batch"
    assert "batch prices from genai-prices" in batch.source


def test_a_tier_genai_prices_lacks_comes_from_the_table_with_its_source() -> None:
    standard = lookup_prices("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", WHEN)
    batch = lookup_prices("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", WHEN, tier="batch")
    assert batch.input_usd_per_mtok == standard.input_usd_per_mtok * Decimal("0.5")
    assert "docs.together.ai" in batch.source and "as of 2026-12-07" in batch.source


def test_a_tier_no_source_prices_has_no_price() -> None:
    with pytest.raises(PriceNotFound, match="no batch price for deepseek"):
        lookup_prices("deepseek", "deepseek-v4-flash", WHEN, tier="batch")


def test_flex_and_priority_from_genai_prices() -> None:
    flex = lookup_prices("openai", "gpt-5-mini", WHEN, tier="flex")
    priority = lookup_prices("openai", "gpt-5-mini", WHEN, tier="priority")
    standard = lookup_prices("openai", "gpt-5-mini", WHEN)
    assert flex.input_usd_per_mtok < standard.input_usd_per_mtok < priority.input_usd_per_mtok


def test_one_hour_writes_without_a_price_leave_the_cost_unknown() -> None:
    prices = Prices(Decimal(3), Decimal(15), Decimal("0.3"), Decimal("3.75"), "test", "2026-12-07")
    assert cost_usd(prices, TokenUsage(1000, 10, 0, 500, 200)) is None
    assert cost_usd(prices, TokenUsage(1000, 10, 0, 500, 0)) == (Decimal(500) * 3 + 500 * Decimal("3.75")
                                                                 + 10 * 15) / 1_000_000


def test_every_table_row_is_dated_and_sourced() -> None:
    for row in tier_table_rows():
        assert row["source"].startswith("https://")
        dt.date.fromisoformat(row["as_of"])
    assert {(row.provider, row.tier) for row in TIER_TABLE} >= {("together", "batch"), ("fireworks", "batch")}


def test_provider_cost_beyond_one_percent_is_flagged() -> None:
    assert provider_cost_check(None, 1.0) is None
    assert provider_cost_check(1.005, 1.0)["flagged"] is False
    assert provider_cost_check(1.02, 1.0)["flagged"] is True
    assert provider_cost_check(1.0, None)["flagged"] is True
