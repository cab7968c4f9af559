"""Projected API costs in another service tier beside the list price, in the table and the break-even rows,
and the report lines that say where genai-prices lacked a price."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis.comparison import projected_costs
from harness.analysis.price_notes import price_data_notes
from harness.config.model_config import OpenAIModel
from harness.suites import load_suite

pytest.importorskip("genai_prices")


def _cfg(name: str, provider: str, model: str, **extra) -> OpenAIModel:
    return OpenAIModel.model_validate({"name": name, "kind": "openai", "provider": provider, "model": model, **extra})


def test_batch_beside_list_price_and_none_where_there_is_no_batch_price() -> None:
    suite = load_suite("workload:in=1000,out=100,n=2")
    models = [_cfg("mini", "openai", "gpt-5-mini"), _cfg("ds", "deepseek", "deepseek-v4-flash"),
              _cfg("llama", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")]
    rows = {r["model"]: r for r in projected_costs([], models, [suite], tier="batch").to_dict("records")}
    assert rows["mini"]["tier_cost_usd_suite"] == pytest.approx(rows["mini"]["cost_usd_suite"] / 2, rel=1e-12)
    assert pd.isna(rows["ds"]["tier_cost_usd_suite"]) and rows["ds"]["cost_usd_suite"] > 0
    assert "docs.together.ai" in rows["llama"]["tier_price_source"]
    notes = price_data_notes([], projected_costs([], models, [suite], tier="batch"))
    assert any(n.startswith("ds (deepseek-v4-flash): no batch price") for n in notes)
    assert any(n.startswith("llama (") and "has no batch price" in n for n in notes)


def test_no_tier_columns_without_a_tier() -> None:
    suite = load_suite("workload:in=10,out=1,n=1")
    assert "tier" not in projected_costs([], [_cfg("mini", "openai", "gpt-5-mini")], [suite]).columns


def test_price_notes_name_model_and_field() -> None:
    records = [{"model": "claude", "prices": {"source": "genai-prices 0.2.5 (anthropic/claude-x); 1h cache writes = "
                                                        "2× input (https://platform.claude.com/..., as of 2026-12-07)"}},
               {"model": "router", "prices": {"source": "genai-prices 0.2.5 (openrouter/m)"},
                "provider_cost_check": {"provider_cost_usd": 2.0, "difference": 0.5, "flagged": True}},
               {"model": "router", "prices": {"source": "genai-prices 0.2.5 (openrouter/m)"}}]
    notes = price_data_notes(records)
    assert any("claude:" in n and "cache_write_1h_mtok" in n for n in notes)
    assert any("router:" in n and "1 of 2 requests" in n and "50.0%" in n for n in notes)
