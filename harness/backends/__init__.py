"""Backends turn one prompt into a stream of text chunks; they never read a clock for metrics.

The runner iterates `Backend.stream(prompt)`, stamps every yielded `str` chunk (answer text) and `Reasoning`
chunk (thinking text) with `time.perf_counter_ns()` on receipt, and reads the final `Usage` for token counts. Backends are registered by `kind` and imported
lazily, so `import harness` needs none of the heavy runtimes; a missing runtime is reported with the extra
that installs it.

Stage rule: it may import config, store, errors, host (never run/: the error a backend raises is backends.failures).
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import BackendUnavailable


@dataclass(frozen=True)
class Prompt:
    """What one request sends: chat messages, or a completion text for base models; and its limits."""

    style: Literal["chat", "completion"]
    max_tokens: int
    messages: list[dict[str, str]] | None = None
    text: str | None = None
    stop: list[str] = field(default_factory=list)
    ignore_eos: bool = False  # hold the output to max_tokens (synthetic workloads), where the runtime can
    reuse_prefix: bool = False  # keep the runtime's prefix (KV) cache from the previous request


class Reasoning(str):
    """A chunk of reasoning ("thinking") text, streamed apart from the answer; a plain `str` is answer text."""

    __slots__ = ()


@dataclass(frozen=True)
class Usage:
    """Token counts reported at the end of a stream, each with where it came from.

    `input_tokens_source` / `output_tokens_source`: `runtime` (counted by the runtime that generated),
    `provider` (an API's usage), `tokenizer` (counted afterwards with a tokenizer), `chunks` (one per
    content chunk), or None when unknown. `input_tokens` includes cache reads and writes; reasoning
    tokens are part of `output_tokens`.
    """

    input_tokens: int | None
    output_tokens: int | None
    input_tokens_source: str | None
    output_tokens_source: str | None
    finish_reason: str | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int | None = None


class Backend(ABC):
    """One loaded model. Subclasses implement `load`, `stream` and `close`; none of them times anything."""

    kind: str

    def __init__(self, config: Any, weights_path: Path | None = None) -> None:
        self.config = config
        self.weights_path = weights_path

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Load the model; return facts for the manifest (runtime, version, device, threads...)."""

    @abstractmethod
    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        """Yield text chunks (`str`, or `Reasoning` for thinking text) as they arrive, then exactly one `Usage`."""

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to release
        """Release the model's memory."""

    # What a synthetic workload needs (harness.run.sizing). A backend that cannot do one says so, and the
    # record says what was done instead.
    supports_ignore_eos = False
    supports_prefix_reuse = False

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        """Input tokens of `prompt` as this runtime will evaluate them (template included); None if unknown."""
        return None

    def count_text_tokens(self, text: str) -> int | None:
        """Tokens of a plain text with this model's tokenizer (no special tokens); None if unknown."""
        return None

    # Log-likelihood scoring (harness.backends.loglikelihood): runtimes that expose the logits of the prompt.
    supports_loglikelihood = False

    def loglikelihood(self, context: str, continuations: list[str]) -> list[Any]:
        """One `ContinuationScore` per continuation: its log-probability after `context` (completion text,
        no chat template), split and summed as lm-eval does."""
        raise NotImplementedError(f"backend {self.kind} cannot score log-likelihoods: it returns no logits")


@dataclass(frozen=True)
class BackendEntry:
    module: str
    class_name: str
    extra: str
    requires: tuple[str, ...]  # import names that must be importable


BACKENDS: dict[str, BackendEntry] = {
    "llama_cpp": BackendEntry("harness.backends.llama_cpp", "LlamaCppBackend", "llama", ("llama_cpp",)),
    "transformers": BackendEntry("harness.backends.transformers_backend", "TransformersBackend", "transformers",
                                 ("torch", "transformers", "gguf", "accelerate")),
    "openai": BackendEntry("harness.backends.openai_api", "OpenAIBackend", "api", ("openai", "orjson")),
    "anthropic": BackendEntry("harness.backends.anthropic_api", "AnthropicBackend", "api", ("anthropic",)),
}


def backend_availability(kind: str) -> tuple[bool, str]:
    """Whether the runtime for `kind` is installed, without importing it; the install hint when not."""
    entry = BACKENDS[kind]
    missing = [name for name in entry.requires if importlib.util.find_spec(name) is None]
    if missing:
        return False, f"runtime not installed ({', '.join(missing)}): pip install 'harness[{entry.extra}]'"
    return True, "runtime installed"


def backend_class(kind: str) -> type[Backend]:
    """The backend class for `kind`, imported on first use; `BackendUnavailable` names the extra to install."""
    ok, reason = backend_availability(kind)
    if not ok:
        raise BackendUnavailable(reason)
    entry = BACKENDS[kind]
    return getattr(importlib.import_module(entry.module), entry.class_name)
