"""Any OpenAI-compatible endpoint through the official `openai` SDK, streaming.

Chat prompts go to Chat Completions, completion prompts to the legacy Completions endpoint (which
llama.cpp server, vLLM and SGLang keep for base models). The request asks for
`stream_options.include_usage`; when the stream still carries no usage (llama-cpp-python's server sends
none), tokens are counted with the configured tokenizer, else output tokens are counted as content
chunks and input tokens stay unknown — each record says which. Reasoning deltas (`reasoning_content` or
`reasoning`) are streamed as `Reasoning` chunks, apart from the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

import openai

from harness.backends.api_common import api_key, check_streamed, sdk_http_client, to_request_failed
from harness.backends.base import Backend, Prompt, Reasoning, Usage
from harness.backends.failures import RequestFailed
from harness.backends.sse_client import SSEClient
from harness.backends.stop_strings import StopScanner
from harness.backends.usage_dialects import UsageUnreadable, chunk_usage, read_chat_usage
from harness.config.providers import resolve_endpoint
from harness.config.redact import MIN_SCRUBBED_CHARS, redact_url, secret_values

# Providers whose Chat Completions take a `service_tier` request parameter, and the tiers it selects.
SERVICE_TIER_PARAM: dict[str | None, tuple[str, ...]] = {"openai": ("flex", "priority"), "fireworks": ("priority",)}


class _Chunks:
    """Reads Chat Completions (or Completions) stream chunks: content, usage, finish reason."""

    def __init__(self, chat: bool) -> None:
        self.chat = chat
        self.usage: dict[str, Any] | None = None
        self.finish: str | None = None
        self.parts: list[str] = []
        self.reasoning_parts: list[str] = []

    def feed(self, chunks: list[dict[str, Any]]) -> list[str]:
        """The answer and reasoning texts of the chunks received together, in order."""
        texts: list[str] = []
        chat, parts = self.chat, self.parts
        for chunk in chunks:
            usage = chunk_usage(chunk)  # `usage`, or Groq's `x_groq.usage`
            if usage is not None:
                self.usage = usage
            for choice in chunk.get("choices") or ():
                if chat:
                    delta = choice.get("delta") or {}
                    # reasoning deltas: `reasoning_content` (DeepSeek, vLLM, llama.cpp server) or `reasoning`
                    # (OpenRouter, newer vLLM); one of them at most, and strings only (some servers send
                    # structured details apart)
                    if "reasoning_content" in delta or "reasoning" in delta:
                        thought = delta.get("reasoning_content") or delta.get("reasoning")
                        if thought and isinstance(thought, str):
                            self.reasoning_parts.append(thought)
                            texts.append(Reasoning(thought))
                    text = delta.get("content")
                else:
                    text = choice.get("text")
                if text:
                    parts.append(text)
                    texts.append(text)
                if choice.get("finish_reason"):
                    self.finish = choice["finish_reason"]
        return texts


class _ClientStops:
    """Stop strings applied to the streamed answer on this side (those beyond an API's maximum): text that could
    begin one is held back until settled; the answer ends where the first one begins."""

    def __init__(self, stops: list[str]) -> None:
        self.scanner = StopScanner(stops) if stops else None
        self.text = ""
        self.stopped = False

    def feed(self, texts: list[str]) -> list[str]:
        if self.scanner is None:
            return texts
        shown: list[str] = []
        for text in texts:
            if isinstance(text, Reasoning) or self.stopped:
                shown += [text] if isinstance(text, Reasoning) else []
                continue
            self.text += text
            fresh, self.stopped = self.scanner.feed(self.text)
            shown += [fresh] if fresh else []
        return shown

    def flush(self) -> list[str]:
        """The held-back end of an answer that no stop string ended."""
        if self.scanner is None or self.stopped:
            return []
        rest = self.scanner.rest(self.text)
        return [rest] if rest else []


class OpenAIBackend(Backend):
    """Streams one Chat Completions (or Completions) request per task."""

    kind = "openai"

    def load(self) -> dict[str, Any]:
        cfg = self.config
        self._endpoint = resolve_endpoint(cfg)
        self._key = api_key(cfg)
        # What an error body may echo and a record must not hold: the key, and a launched server's env values.
        self._secrets = [self._key, *(v for v in secret_values(cfg) if len(v) >= MIN_SCRUBBED_CHARS)]
        self._client = openai.OpenAI(base_url=self._endpoint.base_url, api_key=self._key, max_retries=0,
                                     timeout=cfg.timeout_s, http_client=sdk_http_client(openai, self._endpoint.base_url))
        # the load generator's path (many requests in flight): a lean client, see backends/sse_client.py
        self._sse = SSEClient(self._endpoint.base_url, self._key, cfg.timeout_s, self._secrets, deadline_s=cfg.deadline_s)
        self._tokenizer = None
        if cfg.tokenizer is not None:
            from harness.backends.llama_cpp import GGUFTokenizer
            from harness.config.sources import locate_weights

            self._tokenizer = GGUFTokenizer(locate_weights(cfg.tokenizer).path)
        return {"runtime": "openai-sdk", "runtime_version": openai.__version__, "device": "remote",
                "endpoint": redact_url(self._endpoint.base_url or ""), "api_model": cfg.model}

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        return self._tokenizer.count_prompt(prompt) if self._tokenizer is not None else None

    def count_text_tokens(self, text: str) -> int | None:
        return self._tokenizer.count_text(text) if self._tokenizer is not None else None

    def _params(self, prompt: Prompt) -> tuple[str, dict[str, Any]]:
        cfg = self.config
        params: dict[str, Any] = {"model": cfg.model, "stream": True, "stream_options": {"include_usage": True}}
        if cfg.temperature is not None:
            params["temperature"] = cfg.temperature
        stops = [s for s in [*cfg.stop, *prompt.stop] if s]
        if stops:
            # An API that takes at most N stop strings gets the first N (as lm-eval sends them); the rest are
            # cut from the streamed answer here (`_ClientStops`).
            params["stop"] = stops[:self._endpoint.max_stop_strings] if self._endpoint.max_stop_strings else stops
        if getattr(cfg, "tier", "standard") in SERVICE_TIER_PARAM.get(cfg.provider, ()):
            params["service_tier"] = cfg.tier  # flex or priority processing, asked for per request
        if cfg.extra_body:
            params.update(cfg.extra_body)
        if prompt.style == "chat":
            params["messages"] = prompt.messages
            params[self._endpoint.max_tokens_param] = max(prompt.max_tokens, cfg.max_tokens_floor or 0)
            return "/chat/completions", params
        params["prompt"] = prompt.text
        params["max_tokens"] = max(prompt.max_tokens, cfg.max_tokens_floor or 0)
        return "/completions", params

    # The one-at-a-time path uses the SDK's generic post() with plain-dict chunks: it keeps the SDK's auth,
    # errors and SSE decoding but skips its typed request transform and per-chunk model construction, which
    # cost ~1.2 ms of TTFT per request (benchmarks/client_overhead.py). The load path (`astream`) uses the
    # lean SSEClient, which classifies failures the same way.

    def _client_stops(self, prompt: Prompt) -> _ClientStops:
        limit = self._endpoint.max_stop_strings
        return _ClientStops([s for s in [*self.config.stop, *prompt.stop] if s][limit:] if limit else [])

    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        state, stream, cut = _Chunks(prompt.style == "chat"), None, self._client_stops(prompt)
        path, params = self._params(prompt)
        try:
            stream = self._client.post(path, body=params, cast_to=object, stream=True, stream_cls=openai.Stream[object])
            check_streamed(stream)
            for chunk in stream:
                yield from cut.feed(state.feed([cast(dict[str, Any], chunk)]))  # cast_to=object: the chunk's JSON dict
                if cut.stopped:
                    state.finish = state.finish or "stop"
                    break
            yield from cut.flush()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a classified RequestFailed
            raise to_request_failed(exc, openai, self._secrets, mid_stream=stream is not None) from None
        finally:
            if stream is not None:
                stream.close()
        yield self._finish(state, prompt)

    async def astream_blocks(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Usage]]:
        """`stream` on the lean asyncio client, for load generation (many requests in flight): yields, per
        block of bytes received, the chunks it completed, so that they are stamped with its receipt time."""
        state, cut = _Chunks(prompt.style == "chat"), self._client_stops(prompt)
        path, params = self._params(prompt)
        try:
            async for events in self._sse.events(path, params):
                texts = cut.feed(state.feed(events))
                if texts:
                    yield texts
                if cut.stopped:
                    state.finish = state.finish or "stop"
                    break
            if rest := cut.flush():
                yield rest
        except RequestFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an event of an unexpected shape: classified as on `stream`
            raise to_request_failed(exc, openai, self._secrets, mid_stream=True) from None
        yield [self._finish(state, prompt)]

    def _finish(self, state: _Chunks, prompt: Prompt) -> Usage:
        if state.finish is None:
            raise RequestFailed("disconnected", "the stream ended before a finish_reason (truncated response)")
        # without usage, output is counted over everything streamed: reasoning and answer
        return self._usage(state.usage, prompt, "".join(state.reasoning_parts + state.parts),
                           len(state.reasoning_parts) + len(state.parts), state.finish)

    def _usage(self, usage: Any, prompt: Prompt, text: str, n_chunks: int, finish: str | None) -> Usage:
        if usage is not None:
            try:
                billed = read_chat_usage(usage, self.config.provider)
            except UsageUnreadable as exc:
                raise RequestFailed("usage_unreadable", f"the stream's usage cannot be read as "
                                    f"{self.config.provider or 'OpenAI'} bills it: {exc}") from None
            return Usage(
                input_tokens=billed.input_tokens, output_tokens=billed.output_tokens,
                input_tokens_source="provider", output_tokens_source="provider", finish_reason=finish,
                cache_read_tokens=billed.cache_read_tokens, reasoning_tokens=billed.reasoning_tokens,
                provider_cost_usd=billed.provider_cost_usd, unpriced=billed.unpriced,
            )
        if self._tokenizer is not None:
            return Usage(input_tokens=self._tokenizer.count_prompt(prompt),
                         output_tokens=self._tokenizer.count_text(text),
                         input_tokens_source="tokenizer", output_tokens_source="tokenizer", finish_reason=finish)
        return Usage(input_tokens=None, output_tokens=n_chunks, input_tokens_source=None,
                     output_tokens_source="chunks", finish_reason=finish)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the asyncio client (inside the event loop that used it)."""
        sse = getattr(self, "_sse", None)
        if sse is not None:
            await sse.close()

