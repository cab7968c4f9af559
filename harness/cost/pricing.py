"""API prices and the one function that turns token counts into dollars.

Prices come from `genai-prices` (bundled, dated price data: a model's prices can change on a start date or
by time of day, so they are looked up at the request's timestamp), or from a `cost:` override in
models.yaml that must name its `source` and `as_of` date. A price that cannot be found leaves the cost
unknown (None), never 0.

Cost of a request, in USD (token counts as the provider reports them, N_in including cached tokens):

    cost = ( (N_in - N_cache_read - N_cache_write) * P_in
             + N_cache_read * P_cache_read + (N_cache_write - N_write_1h) * P_cache_write
             + N_write_1h * P_cache_write_1h + N_out * P_out ) / 1e6

with prices per million tokens; reasoning tokens are part of N_out; a missing cache price falls back to
P_in (how providers without a cache discount bill), except the one-hour write price, which is never guessed
(a request with one-hour writes and no such price has no cost). Tiered prices use the tier that N_in
crosses, for all tokens (the "cliff" model providers use).

A service tier (`standard`, `batch`, `flex`, `priority`: harness.cost.service_tiers) selects the prices of
that tier: genai-prices' own tier prices where it has them, else the harness's dated table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata as md
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

MTOK = Decimal(1_000_000)


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one request, as the provider reports them (N_in includes cached tokens)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # part of cache_write_tokens


@dataclass(frozen=True)
class Prices:
    """Per-million-token prices in force for one request, and where they came from."""

    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cache_read_usd_per_mtok: Decimal | None
    cache_write_usd_per_mtok: Decimal | None
    source: str
    as_of: str
    cache_write_1h_usd_per_mtok: Decimal | None = None
    tier: str = "standard"

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form for a record (Decimals as strings, so no rounding creeps in)."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def cost_usd(prices: Prices | None, usage: TokenUsage | None) -> Decimal | None:
    """The cost formula above; None when the price or the usage is unknown."""
    if prices is None or usage is None:
        return None
    read_price = prices.cache_read_usd_per_mtok if prices.cache_read_usd_per_mtok is not None else prices.input_usd_per_mtok
    write_price = prices.cache_write_usd_per_mtok if prices.cache_write_usd_per_mtok is not None else prices.input_usd_per_mtok
    write_1h = usage.cache_write_1h_tokens
    if write_1h and prices.cache_write_1h_usd_per_mtok is None:
        return None
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    total = (uncached * prices.input_usd_per_mtok + usage.cache_read_tokens * read_price
             + (usage.cache_write_tokens - write_1h) * write_price + usage.output_tokens * prices.output_usd_per_mtok)
    if write_1h:
        total += write_1h * prices.cache_write_1h_usd_per_mtok
    return total / MTOK


class PriceNotFound(LookupError):
    """No price for this provider and model (the cost stays unknown)."""


def _tier(value: Any, n_input: int) -> Decimal | None:
    """A genai-prices price (a Decimal or TieredPrices) resolved for a request with `n_input` input tokens."""
    if value is None or isinstance(value, Decimal):
        return value
    price = value.base
    for tier in value.tiers:  # sorted ascending
        if n_input > tier.start:
            price = tier.price
    return price


def genai_prices_version() -> str:
    """Version of the bundled price data package."""
    return md.version("genai-prices")


def lookup_prices(provider_id: str, model_id: str, when: dt.datetime, n_input: int = 0,
                  tier: str = "standard") -> Prices:
    """Prices from genai-prices' bundled data for a provider and model at `when`, in a service tier (its
    own tier prices, else the harness's table in harness.cost.service_tiers); `PriceNotFound` if absent."""
    from genai_prices import data_snapshot  # optional dependency, loaded on first use

    from harness.cost import service_tiers

    try:
        provider, model = data_snapshot.get_snapshot().find_provider_model(model_id, None, provider_id, None)
    except LookupError as exc:
        raise PriceNotFound(f"genai-prices has no price for {provider_id}/{model_id}: {exc}") from None
    standard = model.get_prices(when)
    model_price, tier_source = service_tiers.tier_prices(provider.id, model, standard, when, tier)
    if model_price is None:
        raise PriceNotFound(tier_source)
    input_price, output_price = _tier(model_price.input_mtok, n_input), _tier(model_price.output_mtok, n_input)
    if input_price is None or output_price is None:
        raise PriceNotFound(f"genai-prices lists {provider.id}/{model.id} without input and output token prices")
    write_1h, write_1h_source = _tier(getattr(model_price, "cache_write_1h_mtok", None), n_input), ""
    if write_1h is None:
        write_1h, write_1h_source = service_tiers.cache_write_1h_price(provider.id, input_price)
    source = f"genai-prices {genai_prices_version()} ({provider.id}/{model.id})"
    return Prices(
        input_usd_per_mtok=input_price,
        output_usd_per_mtok=output_price,
        cache_read_usd_per_mtok=_tier(model_price.cache_read_mtok, n_input),
        cache_write_usd_per_mtok=_tier(model_price.cache_write_mtok, n_input),
        source=source + "".join(f"; {part}" for part in (tier_source, write_1h_source) if part),
        as_of=when.isoformat(timespec="seconds"),
        cache_write_1h_usd_per_mtok=write_1h,
        tier=tier,
    )


def override_prices(cost: Any) -> Prices:
    """Prices from a models.yaml `cost:` override (`TokenPrices`), which carries its own source and date."""
    def price(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return Prices(
        input_usd_per_mtok=Decimal(str(cost.input_usd_per_mtok)),
        output_usd_per_mtok=Decimal(str(cost.output_usd_per_mtok)),
        cache_read_usd_per_mtok=price(cost.cached_input_usd_per_mtok),
        cache_write_usd_per_mtok=price(getattr(cost, "cache_write_usd_per_mtok", None)),
        source=f"models.yaml override: {cost.source}",
        as_of=cost.as_of.isoformat(),
        cache_write_1h_usd_per_mtok=price(getattr(cost, "cache_write_1h_usd_per_mtok", None)),
    )


API_KINDS = frozenset({"openai", "anthropic"})


PROVIDER_COST_TOLERANCE = 0.01  # a provider-stated cost further than 1% from the computed one is flagged


class RequestPricer:
    """Prices each request of one API model at its start time, in the entry's service tier (or `tier`);
    reports a missing price once per model."""

    def __init__(self, cfg: Any, warn: Callable[[str], None], tier: str | None = None) -> None:
        from harness.config.providers import resolve_endpoint

        self.cfg = cfg
        self._warn = warn
        self._warned = False
        self.tier = tier or getattr(cfg, "tier", None) or "standard"
        self._override = override_prices(cfg.cost) if cfg.cost is not None else None
        self._price_provider = resolve_endpoint(cfg).price_provider

    def quote(self, when: dt.datetime, n_input: int) -> Prices | None:
        """Prices in force at `when` for a request of `n_input` tokens, or None (warned once)."""
        if self._override is not None:  # the entry's own prices, for the tier it names
            return dataclasses.replace(self._override, tier=self.tier)
        try:
            if self._price_provider is None:
                raise PriceNotFound(f"no price for model '{self.cfg.name}': its endpoint has no known provider")
            return lookup_prices(self._price_provider, self.cfg.model, when, n_input, self.tier)
        except PriceNotFound as exc:
            if not self._warned:
                self._warned = True
                self._warn(f"{exc}; its cost stays unknown (set 'cost:' in models.yaml with source and as_of)")
            return None

    def price(self, raw: dict[str, Any]) -> tuple[dict[str, Any] | None, float | None]:
        """(prices used, cost in USD) for one request's raw observations; the cost is None when unknown (also
        for a request that has no start: its client was lost, and what it was billed is not known; and for one
        billed for tokens of a class the harness has no price for, `unpriced_usage`)."""
        if raw.get("started_at") is None:
            return None, None
        prices = self.quote(dt.datetime.fromisoformat(raw["started_at"]), raw.get("input_tokens") or 0)
        usage = None
        if raw.get("input_tokens") is not None and raw.get("output_tokens") is not None \
                and not raw.get("unpriced_usage"):
            usage = TokenUsage(raw["input_tokens"], raw["output_tokens"], raw.get("cache_read_tokens") or 0,
                               raw.get("cache_write_tokens") or 0, raw.get("cache_write_1h_tokens") or 0)
        cost = cost_usd(prices, usage)
        return (prices.to_record() if prices else None), (float(cost) if cost is not None else None)


def provider_cost_check(provider_cost_usd: float | None, cost_usd_value: float | None) -> dict[str, Any] | None:
    """What the provider says it charged beside the computed cost: their relative difference, flagged when
    it is above 1% (or when only one of them is known). None when the provider states no cost."""
    if provider_cost_usd is None:
        return None
    if cost_usd_value is None:
        return {"provider_cost_usd": provider_cost_usd, "difference": None, "flagged": True}
    scale = max(abs(provider_cost_usd), abs(cost_usd_value))
    difference = abs(provider_cost_usd - cost_usd_value) / scale if scale else 0.0
    return {"provider_cost_usd": provider_cost_usd, "difference": difference,
            "flagged": difference > PROVIDER_COST_TOLERANCE}
