"""Presets for API providers: base URL, the environment variable holding the key, and the provider's id
in genai-prices. A model entry names a preset with `provider:`, or gives `base_url:` for any other
OpenAI-compatible server (vLLM, llama.cpp server, SGLang, Ollama, TGI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderPreset:
    """Where a provider's API lives and how it is keyed and priced."""

    base_url: str | None
    key_env: str
    price_provider: str
    max_tokens_param: str = "max_tokens"
    max_stop_strings: int | None = None  # the API rejects more; the rest are applied client-side


OPENAI_COMPATIBLE: dict[str, ProviderPreset] = {
    "openai": ProviderPreset("https://api.openai.com/v1", "OPENAI_API_KEY", "openai", "max_completion_tokens", 4),
    # Azure: the resource's own URL, e.g. https://NAME.openai.azure.com/openai/v1/, goes in base_url.
    "azure_openai": ProviderPreset(None, "AZURE_OPENAI_API_KEY", "azure", "max_completion_tokens", 4),
    "deepseek": ProviderPreset("https://api.deepseek.com", "DEEPSEEK_API_KEY", "deepseek"),
    "xai": ProviderPreset("https://api.x.ai/v1", "XAI_API_KEY", "x-ai"),
    "gemini": ProviderPreset("https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY", "google"),
    "mistral": ProviderPreset("https://api.mistral.ai/v1", "MISTRAL_API_KEY", "mistral"),
    "groq": ProviderPreset("https://api.groq.com/openai/v1", "GROQ_API_KEY", "groq"),
    "together": ProviderPreset("https://api.together.xyz/v1", "TOGETHER_API_KEY", "together"),
    "openrouter": ProviderPreset("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "openrouter"),
    "fireworks": ProviderPreset("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "fireworks"),
}

ANTHROPIC = ProviderPreset("https://api.anthropic.com", "ANTHROPIC_API_KEY", "anthropic")


@dataclass(frozen=True)
class Endpoint:
    """A model entry's resolved endpoint: URL, key variable (None: no key needed) and price provider."""

    base_url: str | None
    key_env: str | None
    price_provider: str | None
    max_tokens_param: str
    max_stop_strings: int | None = None


def resolve_endpoint(cfg) -> Endpoint:
    """Apply the provider preset (if any) under the entry's own `base_url`, `api_key_env`, `price_provider`."""
    if cfg.kind == "anthropic":
        preset = ANTHROPIC
    else:
        preset = OPENAI_COMPATIBLE.get(cfg.provider) if cfg.provider else None
    max_tokens_param = getattr(cfg, "max_tokens_param", None) or (preset.max_tokens_param if preset else "max_tokens")
    return Endpoint(
        base_url=cfg.base_url or (preset.base_url if preset else None),
        key_env=cfg.api_key_env or (preset.key_env if preset else None),
        price_provider=cfg.price_provider or (preset.price_provider if preset else None),
        max_tokens_param=max_tokens_param,
        max_stop_strings=getattr(cfg, "max_stop_strings", None) or (preset.max_stop_strings if preset else None),
    )


def missing_key_env(cfg) -> str | None:
    """The environment variable a model needs and lacks, or None (keys are read from the environment only)."""
    import os

    key_env = resolve_endpoint(cfg).key_env
    return key_env if key_env and not os.environ.get(key_env) else None
