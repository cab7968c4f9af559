"""Every documented provider stream of the corpus (tests/integration/provider_streams.py) through both request
paths: the record's counts, billing classes and cost equal what the provider documents, on both paths; and the
price math equals genai-prices' own `calc_price` wherever genai-prices prices the case."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.provider_streams import CASES, Case, expected_view, record_view, run_case

pytest.importorskip("openai")
pytest.importorskip("anthropic")
genai_prices = pytest.importorskip("genai_prices")


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[dict, dict, list[dict]]]:
    return {case.name: run_case(case) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_paths_record_what_the_provider_bills(case: Case, results) -> None:
    sdk, load, requests = results[case.name]
    expected = expected_view(case)
    for path, record in (("sdk", sdk), ("loadgen", load)):
        view = record_view(record)
        assert {key: view[key] for key in expected} == expected, f"{path} path"
        if case.unpriced is not None:
            assert view["unpriced"].startswith(case.unpriced), f"{path} path"
        if case.error_class is None:
            assert record["output_text"].strip(), f"{path} path kept no answer"
            assert record["prices"]["tier"] == case.tier
    assert record_view(sdk) == record_view(load)
    assert len(requests) == 2
    for body in requests:
        for key, value in case.sent.items():
            assert body.get(key) == value
        if not case.sent:
            assert "service_tier" not in body


def test_deepseek_cache_hits_are_billed_at_the_cache_price(results) -> None:
    sdk, load, _ = results["deepseek-cache-hit-miss"]
    assert sdk["cache_read_tokens"] == load["cache_read_tokens"] == 800
    assert sdk["cost_usd"] == load["cost_usd"] == 0.0000384  # (200 x 0.15 + 800 x 0.003 + 10 x 0.6) / 1e6
    assert sdk["reasoning_text"] == "Six sevens."


def test_reasoning_reported_apart_is_billed_as_output(results) -> None:
    for name, billed_output in (("xai-cached-reasoning", 210), ("gemini-thinking", 450)):
        sdk, load, _ = results[name]
        assert sdk["output_tokens"] == load["output_tokens"] == billed_output


def test_openrouter_stated_cost_is_kept_and_a_difference_flagged(results) -> None:
    same, _, _ = results["openrouter-stated-cost"]
    assert same["provider_cost_check"] == {"provider_cost_usd": 0.000084, "difference": 0.0, "flagged": False}
    differs, _, _ = results["openrouter-cost-differs"]
    check = differs["provider_cost_check"]
    assert check["flagged"] and check["difference"] == pytest.approx(1 - 0.0001260 / 0.000150)


GENAI_PROVIDER = {"anthropic": "anthropic", "gemini": "google", "xai": "x-ai", "azure_openai": "azure"}
CONTEXT = {"batch": {"processing": "batch"}, "flex": {"service_tier": "flex"}, "priority": {"service_tier": "priority"}}


@pytest.mark.parametrize("case", [c for c in CASES if c.expected_cost_usd is not None], ids=lambda c: c.name)
def test_price_math_equals_genai_prices_calc_price(case: Case, results) -> None:
    """genai-prices' calc_price on the documented billing classes gives the documented cost, except where the
    tier's price comes from the harness's table (genai-prices has no such tier price: then it is not asked)."""
    from genai_prices import Usage

    sdk, _, _ = results[case.name]
    provider = GENAI_PROVIDER.get(case.preset, case.preset)
    if "× standard (" in sdk["prices"]["source"]:
        pytest.skip(f"{provider} {case.tier}: priced from the harness's tier table, which genai-prices lacks")
    usage = Usage(input_tokens=case.input_tokens, output_tokens=case.output_tokens,
                  cache_read_tokens=case.cache_read_tokens, cache_write_tokens=case.cache_write_tokens,
                  **({"cache_write_1h_tokens": case.cache_write_1h_tokens,
                      "cache_write_5m_tokens": case.cache_write_tokens - case.cache_write_1h_tokens}
                     if case.cache_write_1h_tokens else {}))
    when = dt.datetime.fromisoformat(sdk["started_at"])
    price = genai_prices.calc_price(usage, case.model, provider_id=provider, genai_request_timestamp=when,
                                    price_context=CONTEXT.get(case.tier))
    assert price.total_price == case.expected_cost_usd
