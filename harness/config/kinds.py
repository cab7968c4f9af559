"""The one table of model kinds: for each `kind:` of models.yaml, its config class, its backend (imported lazily,
by name, so `import harness` needs none of the runtimes), the pip extra that installs the runtime, and whether
it is a paid API (priced per token from the provider's usage, its key read from the environment). Adding a kind
is a config class in `harness.config.model_config`, a row here and a Backend subclass (docs/development/adding-a-backend.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config.model_config import AnthropicModel, LlamaCppModel, OpenAIModel, StrictModel, TransformersModel


@dataclass(frozen=True)
class Kind:
    """One model kind."""

    config: type[StrictModel]
    backend: str  # "module:Class"
    extra: str
    requires: tuple[str, ...]  # import names that must be importable for the backend to run
    api: bool  # a paid API: priced per token (harness.cost.pricing), skipped when its key is not set


KINDS: dict[str, Kind] = {
    "llama_cpp": Kind(LlamaCppModel, "harness.backends.llama_cpp:LlamaCppBackend", "llama", ("llama_cpp",), False),
    "transformers": Kind(TransformersModel, "harness.backends.transformers_backend:TransformersBackend",
                         "transformers", ("torch", "transformers", "gguf", "accelerate"), False),
    "openai": Kind(OpenAIModel, "harness.backends.openai_api:OpenAIBackend", "api", ("openai", "orjson"), True),
    "anthropic": Kind(AnthropicModel, "harness.backends.anthropic_api:AnthropicBackend", "api", ("anthropic",), True),
}

API_KINDS = frozenset(name for name, kind in KINDS.items() if kind.api)
