"""API energy and carbon as an estimate from EcoLogits (`ecologits` on PyPI; its model and electricity-mix
data ship inside the wheel, so nothing is fetched).

The provider's hardware cannot be measured, so for an API request the harness asks EcoLogits'
`llm_impacts(provider, model_name, output_token_count, request_latency)` — the function behind its SDK
tracers, called directly, no SDK wrapped. It returns min–max ranges (the model's parameter count and the
provider's PUE are ranges), of which the record keeps energy (J) and GWP (gCO2e: usage + embodied), labelled
`estimated (ecologits)`. These are never summed with measured joules.

Which EcoLogits model a harness model is, is an explicit mapping (`resolve`): the entry's provider preset
names the EcoLogits provider (`PROVIDERS`; OpenRouter's `vendor/model` ids by their vendor), and the model
id is tried as given, lower-cased, without a `models/` prefix (Gemini's native ids) and without a date
suffix (`-2025-08-07`, `-20251001`). `ecologits_model: provider/model` in models.yaml overrides it. A model
EcoLogits does not list, or a provider it does not cover, is `unavailable` with the reason.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import re
from dataclasses import dataclass, field
from typing import Any

ESTIMATED_ECOLOGITS = "estimated (ecologits)"
J_PER_KWH = 3.6e6

# Harness provider preset (or `anthropic` for the Anthropic kind) -> EcoLogits provider.
PROVIDERS = {"openai": "openai", "azure_openai": "openai", "anthropic": "anthropic", "gemini": "google_genai",
             "mistral": "mistralai"}
# OpenRouter model ids are `vendor/model`: the vendor's own models run in the vendor's datacentres.
OPENROUTER_VENDORS = {"openai": "openai", "anthropic": "anthropic", "google": "google_genai", "mistralai": "mistralai"}
# Presets EcoLogits has no provider for (their own datacentres, PUE and mix are not in its data).
NOT_COVERED = ("deepseek", "xai", "groq", "together", "fireworks")
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class _Quiet(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:  # warnings go into the record, not the terminal
        pass


def _ecologits() -> Any:
    """EcoLogits' function and repositories, imported on first use (it loads its JSON data at import)."""
    from ecologits.log import logger  # first: it installs EcoLogits' logger class for its logger
    from ecologits.model_repository import models
    from ecologits.tracers import utils

    if not any(isinstance(h, _Quiet) for h in logger.handlers):
        logger.addHandler(_Quiet())
    return utils, models


def ecologits_version() -> str | None:
    """The installed EcoLogits version, or None when it is not installed."""
    try:
        return md.version("ecologits")
    except md.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Mapping:
    """A harness model resolved to an EcoLogits model, or the reason it cannot be."""

    provider: str | None
    model: str | None
    method: str                      # exact | lower-case | prefix | undated | override | unavailable
    reason: str | None = None
    tried: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.provider is not None and self.model is not None


def _candidates(model_id: str) -> list[tuple[str, str]]:
    """Model ids to try, in order, with how each was derived from `model_id` (no id twice)."""
    lowered = model_id.lower()
    bare = lowered.removeprefix("models/")
    out = {model_id: "exact"}
    out.setdefault(lowered, "lower-case")
    out.setdefault(bare, "prefix")
    out.setdefault(_DATE_SUFFIX.sub("", bare), "undated")
    return list(out.items())


def resolve(kind: str, provider: str | None, model_id: str, override: str | None = None,
            self_hosted: bool = False) -> Mapping:
    """The EcoLogits (provider, model) of a harness API model, by the rules in the module docstring."""
    version = ecologits_version()
    if self_hosted:
        return Mapping(None, None, "unavailable", "self-hosted: measured on this machine, not estimated")
    if version is None:
        return Mapping(None, None, "unavailable", "ecologits is not installed (pip install ecologits)")
    _, models = _ecologits()
    if override is not None:
        eco_provider, _, eco_model = override.partition("/")
        if models.find_model(eco_provider, eco_model) is None:
            return Mapping(None, None, "unavailable", f"ecologits_model '{override}': EcoLogits {version} has no "
                                                      f"model '{eco_model}' for provider '{eco_provider}'")
        return Mapping(eco_provider, eco_model, "override")
    preset = "anthropic" if kind == "anthropic" else provider
    if preset is None:
        return Mapping(None, None, "unavailable", "no provider preset (a base_url only): whose datacentre serves it "
                                                  "is unknown; set ecologits_model: provider/model")
    if preset == "openrouter":
        vendor, _, model_id = model_id.partition("/")
        eco_provider = OPENROUTER_VENDORS.get(vendor)
        if eco_provider is None or not model_id:
            return Mapping(None, None, "unavailable", f"OpenRouter model of vendor '{vendor}': EcoLogits {version} "
                                                      "covers only openai, anthropic, google and mistralai")
    elif preset in NOT_COVERED:
        return Mapping(None, None, "unavailable", f"EcoLogits {version} has no provider for {preset} (its "
                                                  "datacentres, PUE and electricity mix are not in its data)")
    else:
        eco_provider = PROVIDERS.get(preset)
        if eco_provider is None:
            return Mapping(None, None, "unavailable", f"provider '{preset}' is not mapped to an EcoLogits provider")
    tried = []
    for candidate, method in _candidates(model_id):
        tried.append(candidate)
        if models.find_model(eco_provider, candidate) is not None:
            return Mapping(eco_provider, candidate, method, tried=tried)
    return Mapping(None, None, "unavailable", f"EcoLogits {version} has no model '{model_id}' for provider "
                                              f"'{eco_provider}' (tried {', '.join(tried)})", tried=tried)


def _range(value: Any, scale: float) -> dict[str, float]:
    """An EcoLogits value (a number or a RangeValue) as {min, max}, scaled."""
    low, high = (value.min, value.max) if hasattr(value, "min") else (value, value)
    return {"min": float(low) * scale, "max": float(high) * scale}


def assumptions(mapping: Mapping) -> dict[str, Any]:
    """What the manifest records about an API model's estimate: version, mapping, provider PUE and zone."""
    out: dict[str, Any] = {"source": ESTIMATED_ECOLOGITS if mapping.available else "unavailable",
                           "ecologits_version": ecologits_version(), "method": mapping.method}
    if not mapping.available:
        out["reason"] = mapping.reason
        return out
    utils, models = _ecologits()
    from ecologits.electricity_mix_repository import electricity_mixes

    config = utils.PROVIDER_CONFIG_MAP[mapping.provider]
    zone = config.datacenter_location or "WOR"
    mix = electricity_mixes.find_electricity_mix(zone)
    model = models.find_model(mapping.provider, mapping.model)
    out.update({
        "provider": mapping.provider, "model": mapping.model, "tried": mapping.tried,
        "datacenter_zone": zone, "datacenter_pue": _range(config.datacenter_pue, 1.0),
        "grid_gco2_per_kwh": mix.gwp * 1000 if mix else None,
        "model_warnings": [w.code for w in model.warnings],
        "note": "EcoLogits models the provider's GPU servers from the model's (estimated) parameter count and "
                "the request's output tokens and latency; GWP includes embodied emissions of the hardware",
    })
    return out


def estimate(mapping: Mapping, output_tokens: int | None, latency_s: float | None) -> dict[str, Any]:
    """One request's energy and GWP ranges from EcoLogits (or `unavailable` with the reason)."""
    if not mapping.available:
        return {"source": "unavailable", "reason": mapping.reason}
    if output_tokens is None or latency_s is None:
        return {"source": "unavailable", "reason": "the request has no output token count or latency"}
    utils, _ = _ecologits()
    impacts = utils.llm_impacts(provider=mapping.provider, model_name=mapping.model,
                                output_token_count=int(output_tokens), request_latency=float(latency_s))
    if impacts.has_errors:
        return {"source": "unavailable", "reason": "; ".join(e.message for e in impacts.errors)}
    return {
        "source": ESTIMATED_ECOLOGITS, "model": f"{mapping.provider}/{mapping.model}",
        "energy_j": _range(impacts.energy.value, J_PER_KWH),
        "gco2e": _range(impacts.gwp.value, 1000.0),
        "usage_gco2e": _range(impacts.usage.gwp.value, 1000.0),
        "embodied_gco2e": _range(impacts.embodied.gwp.value, 1000.0),
        "warnings": [w.code for w in impacts.warnings or []],
    }
