"""Anthropic's Messages API through the official `anthropic` SDK, streaming.

Token counts come from the stream's usage: `message_start` carries input, cache-read and cache-write
tokens, and `message_delta` the cumulative output tokens. Anthropic reports `input_tokens` without the
cached ones; the record's `input_tokens` adds them back so every backend counts input the same way.
Extended thinking streams `thinking_delta` blocks: they become `Reasoning` chunks, apart from the answer
(their tokens are part of `output_tokens`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic

from harness.backends import Backend, Prompt, Reasoning, Usage
from harness.backends.api_common import api_key, check_streamed, sdk_http_client, to_request_failed
from harness.backends.failures import RequestFailed
from harness.config.providers import resolve_endpoint
from harness.config.redact import redact_url


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
        return {"runtime": "anthropic-sdk", "runtime_version": anthropic.__version__, "device": "remote",
                "endpoint": redact_url(endpoint.base_url or ""), "api_model": cfg.model}

    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        if prompt.style != "chat":
            raise ValueError("the Messages API takes chat prompts only")
        cfg = self.config
        system = "\n\n".join(m["content"] for m in prompt.messages if m["role"] == "system")
        params: dict[str, Any] = {
            "model": cfg.model, "max_tokens": max(prompt.max_tokens, cfg.max_tokens_floor or 0), "stream": True,
            "messages": [m for m in prompt.messages if m["role"] != "system"],
        }
        if system:
            params["system"] = system
        if cfg.temperature is not None:
            params["temperature"] = cfg.temperature
        if cfg.stop or prompt.stop:
            params["stop_sequences"] = [*cfg.stop, *prompt.stop]
        counts = {"input": None, "cache_read": 0, "cache_write": 0, "output": None}
        finish, stopped = None, False
        stream = None
        try:
            # As in the OpenAI backend: the SDK's generic post() with plain-dict events is cheaper per request.
            stream = self._client.post("/v1/messages", body=params, cast_to=object, stream=True,
                                       stream_cls=anthropic.Stream[object])
            check_streamed(stream)
            for event in stream:
                kind = event.get("type")
                if kind == "content_block_delta":
                    delta = event.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield delta["text"]
                    elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                        yield Reasoning(delta["thinking"])
                elif kind == "message_start":
                    self._read_usage(counts, (event.get("message") or {}).get("usage"))
                elif kind == "message_delta":
                    self._read_usage(counts, event.get("usage"))
                    finish = (event.get("delta") or {}).get("stop_reason") or finish
                elif kind == "message_stop":
                    stopped = True
        except Exception as exc:  # noqa: BLE001 - every failure becomes a classified RequestFailed
            raise to_request_failed(exc, anthropic, self._key, mid_stream=stream is not None) from None
        finally:
            if stream is not None:
                stream.close()
        if not stopped:
            raise RequestFailed("disconnected", "the stream ended before message_stop (truncated response)")
        known = counts["input"] is not None
        yield Usage(
            input_tokens=counts["input"] + counts["cache_read"] + counts["cache_write"] if known else None,
            output_tokens=counts["output"], input_tokens_source="provider" if known else None,
            output_tokens_source="provider" if counts["output"] is not None else None, finish_reason=finish,
            cache_read_tokens=counts["cache_read"], cache_write_tokens=counts["cache_write"],
        )

    @staticmethod
    def _read_usage(counts: dict[str, Any], usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        for key, field in (("input", "input_tokens"), ("cache_read", "cache_read_input_tokens"),
                           ("cache_write", "cache_creation_input_tokens"), ("output", "output_tokens")):
            if usage.get(field) is not None:
                counts[key] = usage[field]

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
