"""Report lines where the bundled price data (genai-prices) is missing or disagrees with a provider's billing,
each naming the model and the field, so that a reader knows which figures rest on the harness's own dated
table or need a `cost:` override in models.yaml (docs/guides/providers.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd

OVERRIDE_HINT = "override with a 'cost:' block in models.yaml until the data is fixed upstream (docs/guides/providers.md)"


def price_data_notes(records: list[dict[str, Any]], projected: pd.DataFrame | None = None) -> list[str]:
    """One line per model and field where genai-prices lacks a price the harness needed, or where the
    provider's stated cost differs from the computed one."""
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("prices"):
            by_model[record["model"]].append(record)
    notes: list[str] = []
    for model, rows in by_model.items():
        sources = {r["prices"].get("source", "") for r in rows}
        for source in sorted(sources):
            base, *parts = source.split("; ")
            for part in parts:
                if "× standard (" in part:
                    tier = part.split(" = ", 1)[0]
                    notes.append(f"{model}: {base} has no {tier} price (price_variants {tier}); priced at {part}")
                elif part.startswith("1h cache writes"):
                    notes.append(f"{model}: {base} has no 1-hour cache-write price (cache_write_1h_mtok); {part}")
        if any("(deepseek/" in s for s in sources):
            notes.append(f"{model}: genai-prices' extract_usage for DeepSeek does not read prompt_cache_hit_tokens; "
                         "the harness reads DeepSeek's cache hits itself (backends/usage_dialects.py)")
        flagged = [r["provider_cost_check"] for r in rows if (r.get("provider_cost_check") or {}).get("flagged")]
        if flagged:
            worst = max((c["difference"] for c in flagged if c["difference"] is not None), default=None)
            notes.append(f"{model}: the provider's stated cost (usage.cost) differs from the computed cost by more "
                         f"than 1% on {len(flagged)} of {len(rows)} requests"
                         + (f" (up to {worst:.1%})" if worst is not None else "") + f"; {OVERRIDE_HINT}")
        unpriced = [r["unpriced_usage"] for r in rows if r.get("unpriced_usage")]
        if unpriced:
            notes.append(f"{model}: {len(unpriced)} requests billed tokens the harness has no price for "
                         f"({unpriced[0]}); their cost is unknown")
    if projected is not None and "tier" in projected.columns:
        for row in projected.to_dict("records"):
            if pd.isna(row.get("tier_cost_usd_per_task")):
                notes.append(f"{row['model']} ({row['api_model']}): no {row['tier']} price (none in genai-prices, "
                             "in the harness's tier table, or — an entry with a 'cost:' override — its own)")
            elif isinstance(row.get("tier_price_source"), str) and "× standard (" in row["tier_price_source"]:
                base, _, part = row["tier_price_source"].partition("; ")
                notes.append(f"{row['model']} ({row['api_model']}): {base} has no {row['tier']} price; projected "
                             f"at {part}")
    return notes
