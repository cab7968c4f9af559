"""What a backend is: the `Prompt` it is sent, the chunks it yields (`str`, `Reasoning`) and the final
`Usage`, and the `Backend` base class every runtime implements.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.backends.thread_handoff import Handoff, StampedBlock  # noqa: F401 - StampedBlock: part of the stream contract


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
    tokens are part of `output_tokens`. `cache_write_1h_tokens` is the part of the cache writes kept for an
    hour (priced apart); `provider_cost_usd` what the provider says it charged; `unpriced` names billed
    tokens the harness has no price for (the cost stays unknown).
    """

    input_tokens: int | None
    output_tokens: int | None
    input_tokens_source: str | None
    output_tokens_source: str | None
    finish_reason: str | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int | None = None
    cache_write_1h_tokens: int = 0
    provider_cost_usd: float | None = None
    unpriced: str | None = None


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

    async def astream_blocks(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Reasoning | Usage]]:
        """`stream` for the load generator's event loop: each item as a one-item block. An in-process backend
        runs `stream` on a worker thread, one request at a time (its one context is not shared), so the
        requests of a load level queue as they would at a server with one slot; a backend that decodes
        several sequences together overrides this. Each block is stamped on the worker thread when `stream`
        yields it and reaches the loop in batches (harness.backends.thread_handoff)."""
        handoff = Handoff(asyncio.get_running_loop())
        lock = self.__dict__.setdefault("_serial", threading.Lock())

        def work() -> None:
            with lock:
                try:
                    for item in self.stream(prompt):
                        if not handoff.block([item]):
                            break
                except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
                    handoff.fail(exc)
                finally:
                    handoff.end()

        threading.Thread(target=work, name=f"stream-{self.kind}", daemon=True).start()
        async for block in handoff.blocks():
            yield block

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the asyncio stream holds (connections); the model itself is freed by `close`."""

    # What a synthetic workload needs (harness.execution.sizing). A backend that cannot do one says so, and the
    # record says what was done instead.
    supports_ignore_eos = False

    @property
    def supports_prefix_reuse(self) -> bool:
        """Whether a shared prompt prefix is kept between requests (a property: a backend may decide per config)."""
        return False

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
