"""Service tiers: the same model at another price for another kind of service.

`standard` (the default), `batch` (asynchronous batch APIs, typically half price), `flex` (slower, cheaper
processing) and `priority` (faster, dearer). Prices of a tier come from genai-prices where its data has them
(price variants keyed `processing: batch` or `service_tier: flex|priority`); else from `TIER_TABLE` below:
a small table of documented uniform discounts, each row with its source and the date it was read. A tier
that neither has for a model has no price: the cost stays unknown, never the standard price in disguise.

`CACHE_WRITE_1H` covers the one price genai-prices may lack for a billed class the harness reads: Anthropic's
one-hour cache writes, documented as twice the base input price.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TIERS = ("standard", "batch", "flex", "priority")

# how genai-prices keys each tier's price variants
GENAI_PRICES_CONTEXT: dict[str, dict[str, str]] = {
    "batch": {"processing": "batch"}, "flex": {"service_tier": "flex"}, "priority": {"service_tier": "priority"},
}


@dataclass(frozen=True)
class TierRow:
    """A documented price rule: every price of `provider`'s models in `tier` is `multiplier` × standard."""

    provider: str  # genai-prices provider id
    tier: str
    multiplier: Decimal
    source: str
    as_of: str
    note: str = ""


TIER_TABLE: tuple[TierRow, ...] = (
    TierRow("anthropic", "batch", Decimal("0.5"),
            "https://platform.claude.com/docs/en/build-with-claude/batch-processing#pricing", "2026-12-07",
            "Message Batches: 50% of standard on input, output, cache reads and writes"),
    TierRow("openai", "batch", Decimal("0.5"), "https://platform.openai.com/docs/guides/batch", "2026-12-07",
            "Batch API: 50% off input and output tokens"),
    TierRow("together", "batch", Decimal("0.5"), "https://docs.together.ai/docs/inference/batch/overview",
            "2026-12-07", "documented as 'up to 50% off serverless rates'; 50% used"),
    TierRow("fireworks", "batch", Decimal("0.5"), "https://docs.fireworks.ai/serverless/pricing", "2026-12-07",
            "batch inference billed at 50% of serverless pricing on input and output"),
)


@dataclass(frozen=True)
class CacheRule:
    """A documented one-hour cache-write price: `multiplier` × the base input price."""

    provider: str
    multiplier: Decimal
    source: str
    as_of: str


CACHE_WRITE_1H: tuple[CacheRule, ...] = (
    CacheRule("anthropic", Decimal(2),
              "https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing", "2026-12-07"),
)


def _variant_matches(model: Any, when: dt.datetime, tier: str) -> bool:
    """Whether genai-prices has a price variant for `tier` in force at `when` for this model."""
    context = GENAI_PRICES_CONTEXT[tier]
    for variant in getattr(model, "price_variants", None) or ():
        if variant.constraint is not None and not variant.constraint.active(when):
            continue
        if all(context.get(key) == value for key, value in variant.when.items()):
            return True
    return False


def _scaled(value: Any, multiplier: Decimal) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value * multiplier
    if dataclasses.is_dataclass(value) and hasattr(value, "tiers"):  # genai-prices TieredPrices
        return dataclasses.replace(value, base=value.base * multiplier,
                                   tiers=[dataclasses.replace(t, price=t.price * multiplier) for t in value.tiers])
    return value


def table_row(provider_id: str, tier: str) -> TierRow | None:
    """The harness's table row for a provider and tier, if any."""
    return next((row for row in TIER_TABLE if row.provider == provider_id and row.tier == tier), None)


def tier_prices(provider_id: str, model: Any, standard: Any, when: dt.datetime, tier: str) -> tuple[Any, str]:
    """(genai-prices `ModelPrice` of `tier`, a note on where it came from: empty for standard prices); when no
    source prices the tier, (None, why)."""
    if tier not in TIERS:
        raise ValueError(f"unknown service tier {tier!r}: one of {', '.join(TIERS)}")
    if tier == "standard":
        return standard, ""
    if _variant_matches(model, when, tier):
        return model.get_prices(when, GENAI_PRICES_CONTEXT[tier]), f"{tier} prices from genai-prices"
    row = table_row(provider_id, tier)
    if row is None:
        return None, (f"no {tier} price for {provider_id}/{model.id}: genai-prices has none and the "
                      f"harness's tier table has no {provider_id} {tier} row")
    fields = {key: _scaled(value, row.multiplier) for key, value in vars(standard).items()
              if not key.startswith("_")}
    return type(standard)(**fields), f"{tier} = {row.multiplier}× standard ({row.source}, as of {row.as_of})"


def cache_write_1h_price(provider_id: str, input_usd_per_mtok: Decimal) -> tuple[Decimal | None, str]:
    """The one-hour cache-write price from the documented rule, when genai-prices has none; (None, "")
    when no rule covers the provider."""
    rule = next((r for r in CACHE_WRITE_1H if r.provider == provider_id), None)
    if rule is None:
        return None, ""
    return (input_usd_per_mtok * rule.multiplier,
            f"1h cache writes = {rule.multiplier}× input ({rule.source}, as of {rule.as_of})")


def tier_table_rows() -> list[dict[str, str]]:
    """The harness's own tier and cache-lifetime rules, for the report (each with its source and date)."""
    rows = [{"provider": r.provider, "tier": r.tier, "price": f"{r.multiplier}× standard", "source": r.source,
             "as_of": r.as_of, "note": r.note} for r in TIER_TABLE]
    rows += [{"provider": r.provider, "tier": "1h cache writes", "price": f"{r.multiplier}× base input",
              "source": r.source, "as_of": r.as_of, "note": "used where genai-prices has no 1h write price"}
             for r in CACHE_WRITE_1H]
    return rows
