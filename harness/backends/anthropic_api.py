"""Anthropic's Messages API through the official `anthropic` SDK, streaming.

Token counts come from the stream's usage (read in backends/usage_dialects.py): `message_start` carries
input, cache-read and cache-write tokens (writes split by cache lifetime, 5 minutes or 1 hour), and
`message_delta` the cumulative output tokens. Anthropic reports `input_tokens` without the cached ones; the
record's `input_tokens` adds them back so every backend counts input the same way.
Extended thinking streams `thinking_delta` blocks: they become `Reasoning` chunks, apart from the answer
(their tokens are part of `output_tokens`; redacted thinking streams no text but is billed the same way).
The load generator's path (`astream_blocks`) reads the same events through the lean asyncio client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

import anthropic

from harness.backends.api_common import api_key, check_streamed, sdk_http_client, to_request_failed
from harness.backends.base import Backend, Prompt, Reasoning, Usage
from harness.backends.failures import RequestFailed
from harness.backends.sse_client import SSEClient
from harness.backends.usage_dialects import AnthropicUsage, UsageUnreadable
from harness.config.providers import resolve_endpoint
from harness.config.redact import redact_url

ANTHROPIC_VERSION = "2023-06-01"  # the Messages API version header the SDK sends


class _Events:
    """Reads Messages stream events: text and thinking deltas, usage, stop reason, message_stop."""

    def __init__(self) -> None:
        self.usage = AnthropicUsage()
        self.finish: str | None = None
        self.stopped = False

    def feed(self, event: dict[str, Any]) -> str | None:
        """The answer or reasoning text of one event, or None."""
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return delta["text"]
            if delta.get("type") == "thinking_delta" and delta.get("thinking"):
                return Reasoning(delta["thinking"])
        elif kind == "message_start":
            self.usage.feed((event.get("message") or {}).get("usage"))
        elif kind == "message_delta":
            self.usage.feed(event.get("usage"))
            self.finish = (event.get("delta") or {}).get("stop_reason") or self.finish
        elif kind == "message_stop":
            self.stopped = True
        return None

    def result(self) -> Usage:
        if not self.stopped:
            raise RequestFailed("disconnected", "the stream ended before message_stop (truncated response)")
        try:
            billed = self.usage.billed()
        except UsageUnreadable as exc:
            raise RequestFailed("usage_unreadable", f"the stream's usage cannot be read as Anthropic bills it: "
                                f"{exc}") from None
        return Usage(
            input_tokens=billed.input_tokens, output_tokens=billed.output_tokens,
            input_tokens_source="provider" if billed.input_tokens is not None else None,
            output_tokens_source="provider" if billed.output_tokens is not None else None, finish_reason=self.finish,
            cache_read_tokens=billed.cache_read_tokens, cache_write_tokens=billed.cache_write_tokens,
            cache_write_1h_tokens=billed.cache_write_1h_tokens,
        )


class AnthropicBackend(Backend):
    """Streams one Messages request per task."""

    kind = "anthropic"

    def load(self) -> dict[str, Any]:
        cfg = self.config
        endpoint = resolve_endpoint(cfg)
        self._key = api_key(cfg)
        self._client = anthropic.Anthropic(base_url=endpoint.base_url, api_key=self._key, max_retries=0,
                                           timeout=cfg.timeout_s,
                                           http_client=sdk_http_client(anthropic, endpoint.base_url))
        self._sse = SSEClient(f"{(endpoint.base_url or 'https://api.anthropic.com').rstrip('/')}/v1", self._key,
                              cfg.timeout_s, [self._key], headers={"x-api-key": self._key,
                                                                  "anthropic-version": ANTHROPIC_VERSION},
                              deadline_s=cfg.deadline_s)
        return {"runtime": "anthropic-sdk", "runtime_version": anthropic.__version__, "device": "remote",
                "endpoint": redact_url(endpoint.base_url or ""), "api_model": cfg.model}

    def _params(self, prompt: Prompt) -> dict[str, Any]:
        if prompt.style != "chat":
            raise ValueError("the Messages API takes chat prompts only")
        cfg = self.config
        messages = prompt.messages
        assert messages is not None, "a chat prompt carries its messages"
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        params: dict[str, Any] = {
            "model": cfg.model, "max_tokens": max(prompt.max_tokens, cfg.max_tokens_floor or 0), "stream": True,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system:
            params["system"] = system
        if cfg.temperature is not None:
            params["temperature"] = cfg.temperature
        if cfg.stop or prompt.stop:
            params["stop_sequences"] = [*cfg.stop, *prompt.stop]
        return params

    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        params = self._params(prompt)
        state, stream = _Events(), None
        try:
            # As in the OpenAI backend: the SDK's generic post() with plain-dict events is cheaper per request.
            stream = self._client.post("/v1/messages", body=params, cast_to=object, stream=True,
                                       stream_cls=anthropic.Stream[object])
            check_streamed(stream)
            for event in stream:
                text = state.feed(cast(dict[str, Any], event))  # cast_to=object: each event's JSON, a dict
                if text:
                    yield text
        except Exception as exc:  # noqa: BLE001 - every failure becomes a classified RequestFailed
            raise to_request_failed(exc, anthropic, self._key, mid_stream=stream is not None) from None
        finally:
            if stream is not None:
                stream.close()
        yield state.result()

    async def astream_blocks(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Usage]]:
        """`stream` on the lean asyncio client (the load generator's path): per block of bytes received, the
        chunks it completed."""
        params = self._params(prompt)
        state = _Events()
        try:
            async for events in self._sse.events("/messages", params):
                texts = [text for text in map(state.feed, events) if text]
                if texts:
                    yield texts
        except RequestFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an event of an unexpected shape
            raise to_request_failed(exc, anthropic, self._key, mid_stream=True) from None
        yield [state.result()]

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the asyncio client (inside the event loop that used it)."""
        sse = getattr(self, "_sse", None)
        if sse is not None:
            await sse.close()
