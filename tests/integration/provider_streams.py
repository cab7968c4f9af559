"""A conformance corpus of provider streams: for each preset and usage dialect, a stream written from the
provider's API reference (event sequence and usage fields as documented; not captured from an account), the
tokens in each billing class it bills, the list prices on its pricing page, and so the expected cost.

`run_case` serves a case's stream from a local server and sends one request through both request paths —
the SDK path (`stream`, openai/anthropic SDK) and the load generator's client (`astream_blocks`, the lean
asyncio client) — then prices each record as a run does. An error case names the error class (or the
unpriced-usage reason) both paths must record instead of a cost.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY_ENV = "HARNESS_CORPUS_KEY"


def sse(data: dict | str, event: str | None = None) -> bytes:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {event}\n" if event else "") + f"data: {payload}\n\n").encode()


def chat_stream(model: str, usage: dict | None, answer: tuple[str, ...] = ("The", " answer", " is", " 42."),
                reasoning: tuple[str, ...] = (), finish: str = "stop", first: list[dict] = (),
                extra: dict | None = None, usage_key: str = "usage", comments: bool = False) -> bytes:
    """A Chat Completions stream: optional leading chunks, reasoning_content deltas, content deltas, the finish
    chunk, the usage chunk (`usage_key` "x_groq" puts it in `x_groq.usage`, as Groq does), [DONE]."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [sse(chunk) for chunk in first]
    if comments:  # OpenRouter keeps the connection alive with SSE comments while the upstream works
        chunks.append(b": OPENROUTER PROCESSING\n\n")

    def delta(d: dict, finish_reason: str | None = None) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": d, "finish_reason": finish_reason, **(extra or {})}]})

    chunks.append(delta({"role": "assistant", "content": ""}))
    chunks += [delta({"reasoning_content": piece, "content": None}) for piece in reasoning]
    chunks += [delta({"content": piece}) for piece in answer]
    if usage is not None and usage_key == "x_groq":  # Groq: the last content chunk carries x_groq.usage
        chunks.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                           "x_groq": {"id": "req_1", "usage": usage}}))
    else:
        chunks.append(delta({}, finish))
        if usage is not None:
            chunks.append(sse({**base, "choices": [], "usage": usage}))
    chunks.append(sse("[DONE]"))
    return b"".join(chunks)


def messages_stream(model: str, start_usage: dict, final_usage: dict, thinking: bool = True,
                    error_after_text: bool = False) -> bytes:
    """An Anthropic Messages stream: message_start (usage with the cache-write split), ping, a thinking block,
    a redacted_thinking block, a text block, message_delta (cumulative usage), message_stop; or an `error`
    event in the middle of the text block."""
    events = [sse({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model, "stop_reason": None,
        "stop_sequence": None, "usage": start_usage}}, "message_start"), sse({"type": "ping"}, "ping")]
    index = 0
    if thinking:
        events += [sse({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
                       "content_block_start"),
                   sse({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "thinking_delta", "thinking": "Six times seven."}}, "content_block_delta"),
                   sse({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}}, "content_block_delta"),
                   sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                   sse({"type": "content_block_start", "index": 1,
                        "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}},
                       "content_block_start"),
                   sse({"type": "content_block_stop", "index": 1}, "content_block_stop")]
        index = 2
    events.append(sse({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                      "content_block_start"))
    events.append(sse({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": "42"}},
                      "content_block_delta"))
    if error_after_text:
        events.append(sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"))
        return b"".join(events)
    events += [sse({"type": "content_block_stop", "index": index}, "content_block_stop"),
               sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": final_usage}, "message_delta"),
               sse({"type": "message_stop"}, "message_stop")]
    return b"".join(events)


@dataclass(frozen=True)
class Case:
    """One documented stream and what a record of it must hold."""

    name: str
    preset: str  # the models.yaml provider preset ("anthropic" for kind anthropic)
    dialect: str  # which usage dialect the stream speaks
    model: str
    body: bytes
    docs: str  # the API reference the stream and usage follow
    # billing classes, from the provider's documentation of its usage fields
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int | None = None
    # list prices (USD per 1M tokens) on the provider's pricing page, and that page
    prices: dict[str, str] = field(default_factory=dict)
    pricing_page: str = ""
    provider_cost_usd: float | None = None
    provider_cost_flagged: bool | None = None
    tier: str = "standard"
    sent: dict[str, Any] = field(default_factory=dict)  # what the request body must carry
    error_class: str | None = None  # an error case: the class both paths must record
    unpriced: str | None = None  # an error case: billed tokens the harness has no price for (cost unknown)

    @property
    def expected_cost_usd(self) -> Decimal | None:
        """The cost from the documented billing classes and list prices: each class × its price."""
        if self.error_class or self.unpriced or self.input_tokens is None:
            return None
        p = {k: Decimal(v) for k, v in self.prices.items()}
        uncached = self.input_tokens - self.cache_read_tokens - self.cache_write_tokens
        total = (uncached * p["input"] + self.cache_read_tokens * p.get("cache_read", p["input"])
                 + (self.cache_write_tokens - self.cache_write_1h_tokens) * p.get("cache_write", p["input"])
                 + self.cache_write_1h_tokens * p.get("cache_write_1h", p["input"])
                 + self.output_tokens * p["output"])
        return total / Decimal(1_000_000)


def _openai_usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0, audio_in: int = 0,
                  accepted: int = 0, rejected: int = 0) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": accepted,
                                          "rejected_prediction_tokens": rejected}}


_AZURE_FILTER = {"hate": {"filtered": False, "severity": "safe"}, "self_harm": {"filtered": False, "severity": "safe"},
                 "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}
_CLAUDE_PRICES = {"input": "3", "output": "15", "cache_read": "0.3", "cache_write": "3.75", "cache_write_1h": "6"}
_CLAUDE_PRICING = "https://platform.claude.com/docs/en/about-claude/pricing"
_ANTHROPIC_DOCS = "https://platform.claude.com/docs/en/build-with-claude/streaming"

CASES: tuple[Case, ...] = (
    Case("openai-cached-reasoning-predictions", "openai", "openai", "gpt-4o-mini",
         chat_stream("gpt-4o-mini", _openai_usage(1000, 40, cached=600, accepted=5, rejected=7)),
         "https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage",
         input_tokens=1000, output_tokens=40, cache_read_tokens=600, reasoning_tokens=0,
         prices={"input": "0.15", "output": "0.6", "cache_read": "0.075"},
         pricing_page="https://platform.openai.com/docs/pricing"),
    Case("openai-reasoning-flex", "openai", "openai", "gpt-5-mini",
         chat_stream("gpt-5-mini", _openai_usage(2000, 300, cached=1024, reasoning=256)),
         "https://platform.openai.com/docs/guides/flex-processing",
         input_tokens=2000, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=256,
         prices={"input": "0.125", "output": "1", "cache_read": "0.0125"}, tier="flex",
         pricing_page="https://platform.openai.com/docs/pricing#flex-processing", sent={"service_tier": "flex"}),
    Case("openai-audio-tokens", "openai", "openai", "gpt-4o-mini",
         chat_stream("gpt-4o-mini", _openai_usage(500, 20, audio_in=300)),
         "https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage",
         input_tokens=500, output_tokens=20, reasoning_tokens=0, unpriced="300 audio tokens"),
    Case("azure-content-filter", "azure_openai", "openai+azure filters", "gpt-4o-mini",
         chat_stream("gpt-4o-mini", _openai_usage(120, 4), finish="content_filter",
                     first=[{"id": "", "object": "", "created": 0, "model": "", "choices": [],
                             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _AZURE_FILTER}]}],
                     extra={"content_filter_results": _AZURE_FILTER}),
         "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter",
         input_tokens=120, output_tokens=4, reasoning_tokens=0,
         prices={"input": "0.15", "output": "0.6", "cache_read": "0.075"},
         pricing_page="https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/"),
    Case("anthropic-cache-5m-1h-thinking", "anthropic", "anthropic", "claude-sonnet-4-5",
         messages_stream("claude-sonnet-4-5",
                         {"input_tokens": 50, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 2000,
                          "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
                          "output_tokens": 1},
                         {"input_tokens": 50, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 2000,
                          "output_tokens": 120}),
         _ANTHROPIC_DOCS, input_tokens=5050, output_tokens=120, cache_read_tokens=2000, cache_write_tokens=3000,
         cache_write_1h_tokens=2000, prices=_CLAUDE_PRICES, pricing_page=_CLAUDE_PRICING),
    Case("anthropic-batch-tier", "anthropic", "anthropic", "claude-sonnet-4-5",
         messages_stream("claude-sonnet-4-5", {"input_tokens": 400, "cache_creation_input_tokens": 0,
                                               "cache_read_input_tokens": 0, "output_tokens": 1},
                         {"output_tokens": 30}, thinking=False),
         _ANTHROPIC_DOCS, input_tokens=400, output_tokens=30, tier="batch",
         prices={"input": "1.5", "output": "7.5", "cache_read": "0.15", "cache_write": "1.875", "cache_write_1h": "3"},
         pricing_page="https://platform.claude.com/docs/en/build-with-claude/batch-processing#pricing"),
    Case("anthropic-error-mid-stream", "anthropic", "anthropic", "claude-sonnet-4-5",
         messages_stream("claude-sonnet-4-5", {"input_tokens": 10, "output_tokens": 1}, {}, error_after_text=True),
         "https://platform.claude.com/docs/en/build-with-claude/streaming#error-events", error_class="stream_error"),
    Case("anthropic-cache-split-inconsistent", "anthropic", "anthropic", "claude-sonnet-4-5",
         messages_stream("claude-sonnet-4-5",
                         {"input_tokens": 5, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 0,
                          "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
                          "output_tokens": 1}, {"output_tokens": 3}, thinking=False),
         _ANTHROPIC_DOCS, error_class="usage_unreadable"),
    Case("gemini-thinking", "gemini", "gemini", "gemini-2.5-flash",
         chat_stream("gemini-2.5-flash", {"prompt_tokens": 800, "completion_tokens": 50, "total_tokens": 1250,
                                          "completion_tokens_details": {"reasoning_tokens": 400}}),
         "https://ai.google.dev/gemini-api/docs/openai#thinking",
         input_tokens=800, output_tokens=450, reasoning_tokens=400,
         prices={"input": "0.3", "output": "2.5", "cache_read": "0.03"},
         pricing_page="https://ai.google.dev/gemini-api/docs/pricing"),
    Case("gemini-long-context-tier", "gemini", "gemini", "gemini-2.5-pro",
         chat_stream("gemini-2.5-pro", {"prompt_tokens": 250_000, "completion_tokens": 1000, "total_tokens": 251_000}),
         "https://ai.google.dev/gemini-api/docs/openai", input_tokens=250_000, output_tokens=1000,
         prices={"input": "2.5", "output": "15", "cache_read": "0.25"},
         pricing_page="https://ai.google.dev/gemini-api/docs/pricing (prompts > 200k tokens)"),
    Case("deepseek-cache-hit-miss", "deepseek", "deepseek", "deepseek-v4-flash",
         chat_stream("deepseek-v4-flash", {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
                                           "prompt_cache_hit_tokens": 800, "prompt_cache_miss_tokens": 200},
                     reasoning=("Six", " sevens.")),
         "https://api-docs.deepseek.com/api/create-chat-completion",
         input_tokens=1000, output_tokens=10, cache_read_tokens=800,
         prices={"input": "0.15", "output": "0.6", "cache_read": "0.003"},
         pricing_page="https://api-docs.deepseek.com/quick_start/pricing"),
    Case("deepseek-hit-miss-inconsistent", "deepseek", "deepseek", "deepseek-v4-flash",
         chat_stream("deepseek-v4-flash", {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
                                           "prompt_cache_hit_tokens": 900, "prompt_cache_miss_tokens": 200}),
         "https://api-docs.deepseek.com/guides/kv_cache", error_class="usage_unreadable"),
    Case("xai-cached-reasoning", "xai", "xai", "grok-3-mini",
         chat_stream("grok-3-mini", {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 310,
                                     "prompt_tokens_details": {"text_tokens": 100, "audio_tokens": 0, "image_tokens": 0,
                                                               "cached_tokens": 64},
                                     "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 0,
                                                                   "accepted_prediction_tokens": 0,
                                                                   "rejected_prediction_tokens": 0}},
                     reasoning=("Let", " me think.")),
         "https://docs.x.ai/docs/guides/reasoning", input_tokens=100, output_tokens=210, cache_read_tokens=64,
         reasoning_tokens=200, prices={"input": "0.3", "output": "0.5", "cache_read": "0.075"},
         pricing_page="https://docs.x.ai/docs/models"),
    Case("mistral-plain", "mistral", "openai", "mistral-small-latest",
         chat_stream("mistral-small-latest", {"prompt_tokens": 300, "completion_tokens": 25, "total_tokens": 325}),
         "https://docs.mistral.ai/api/#tag/chat", input_tokens=300, output_tokens=25,
         prices={"input": "0.15", "output": "0.6"}, pricing_page="https://mistral.ai/pricing#api-pricing"),
    Case("groq-x-groq-usage", "groq", "groq", "llama-3.3-70b-versatile",
         chat_stream("llama-3.3-70b-versatile", {"queue_time": 0.02, "prompt_tokens": 250, "prompt_time": 0.01,
                                                 "completion_tokens": 40, "completion_time": 0.1, "total_tokens": 290,
                                                 "total_time": 0.11}, usage_key="x_groq"),
         "https://console.groq.com/docs/api-reference#chat-create", input_tokens=250, output_tokens=40,
         prices={"input": "0.59", "output": "0.79"}, pricing_page="https://groq.com/pricing"),
    Case("together-plain", "together", "openai", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
         chat_stream("meta-llama/Llama-3.3-70B-Instruct-Turbo",
                     {"prompt_tokens": 600, "completion_tokens": 80, "total_tokens": 680}),
         "https://docs.together.ai/reference/chat-completions-1", input_tokens=600, output_tokens=80,
         prices={"input": "0.88", "output": "0.88"}, pricing_page="https://www.together.ai/pricing"),
    Case("together-batch-tier", "together", "openai", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
         chat_stream("meta-llama/Llama-3.3-70B-Instruct-Turbo",
                     {"prompt_tokens": 600, "completion_tokens": 80, "total_tokens": 680}),
         "https://docs.together.ai/docs/inference/batch/overview", input_tokens=600, output_tokens=80, tier="batch",
         prices={"input": "0.44", "output": "0.44"}, pricing_page="https://docs.together.ai/docs/inference/batch/overview"),
    Case("fireworks-cached", "fireworks", "openai", "accounts/fireworks/models/deepseek-v4-flash",
         chat_stream("accounts/fireworks/models/deepseek-v4-flash",
                     {"prompt_tokens": 1500, "completion_tokens": 60, "total_tokens": 1560,
                      "prompt_tokens_details": {"cached_tokens": 1000}}),
         "https://docs.fireworks.ai/api-reference/post-chatcompletions", input_tokens=1500, output_tokens=60,
         cache_read_tokens=1000, prices={"input": "0.14", "output": "0.28", "cache_read": "0.028"},
         pricing_page="https://docs.fireworks.ai/serverless/pricing"),
    Case("openrouter-stated-cost", "openrouter", "openrouter", "deepseek/deepseek-v4-flash",
         chat_stream("deepseek/deepseek-v4-flash",
                     {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                      "prompt_tokens_details": {"cached_tokens": 500, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0},
                      "cost": 0.0000840, "is_byok": False,
                      "cost_details": {"upstream_inference_cost": None}}, comments=True),
         "https://openrouter.ai/docs/use-cases/usage-accounting", input_tokens=1000, output_tokens=100,
         cache_read_tokens=500, reasoning_tokens=0, prices={"input": "0.105", "output": "0.21", "cache_read": "0.021"},
         pricing_page="https://openrouter.ai/deepseek/deepseek-v4-flash", provider_cost_usd=0.000084,
         provider_cost_flagged=False),
    Case("openrouter-cost-differs", "openrouter", "openrouter", "deepseek/deepseek-v4-flash",
         chat_stream("deepseek/deepseek-v4-flash",
                     {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "cost": 0.000150, "cost_details": {"upstream_inference_cost": None}}, comments=True),
         "https://openrouter.ai/docs/use-cases/usage-accounting", input_tokens=1000, output_tokens=100,
         prices={"input": "0.105", "output": "0.21", "cache_read": "0.021"},
         pricing_page="https://openrouter.ai/deepseek/deepseek-v4-flash", provider_cost_usd=0.00015,
         provider_cost_flagged=True),
)


class StreamServer:
    """Serves one body as an event stream to every POST on 127.0.0.1; keeps each request's JSON body."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                server.requests.append(json.loads(self.rfile.read(int(self.headers.get("content-length", 0)))))
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for event in server.body.split(b"\n\n")[:-1]:  # one chunk per event, as servers write them
                    data = event + b"\n\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StreamServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def model_config(case: Case, base_url: str) -> Any:
    """The models.yaml entry of the case's preset, pointed at the local server."""
    from harness.config.model_config import AnthropicModel, OpenAIModel

    entry = {"name": "corpus", "model": case.model, "api_key_env": KEY_ENV, "tier": case.tier, "max_attempts": 1}
    if case.preset == "anthropic":
        return AnthropicModel.model_validate({**entry, "kind": "anthropic", "base_url": base_url})
    return OpenAIModel.model_validate({**entry, "kind": "openai", "provider": case.preset, "base_url": f"{base_url}/v1"})


def _priced(raw: dict, cfg: Any) -> dict:
    from harness.cost.pricing import RequestPricer, provider_cost_check

    raw["prices"], raw["cost_usd"] = RequestPricer(cfg, warn=lambda message: None).price(raw)
    check = provider_cost_check(raw.get("provider_cost_usd"), raw["cost_usd"])
    if check is not None:
        raw["provider_cost_check"] = check
    return raw


def run_case(case: Case) -> tuple[dict, dict, list[dict]]:
    """(record by the SDK path, record by the load generator's client, request bodies the server received)."""
    from harness.backends import Prompt, backend_class
    from harness.execution.request import execute, execute_async
    from harness.execution.retry import RetryPolicy

    os.environ.setdefault(KEY_ENV, "corpus-key")
    prompt = Prompt(style="chat", max_tokens=64, messages=[{"role": "user", "content": "What is 6 x 7?"}])
    with StreamServer(case.body) as server:
        cfg = model_config(case, server.base_url)
        backend = backend_class(cfg.kind)(cfg)
        backend.load()
        try:
            sdk = _priced(execute(backend, prompt, RetryPolicy(max_attempts=1)), cfg)

            async def load_path() -> dict:
                try:
                    return await execute_async(backend, prompt, RetryPolicy(max_attempts=1))
                finally:
                    await backend.aclose()

            load = _priced(asyncio.run(load_path()), cfg)
        finally:
            backend.close()
        return sdk, load, server.requests


def record_view(record: dict) -> dict:
    """What a record must agree on across paths and with the case: counts, billing classes, cost, error class."""
    error = record.get("error") or {}
    check = record.get("provider_cost_check") or {}
    return {"input_tokens": record.get("input_tokens"), "output_tokens": record.get("output_tokens"),
            "cache_read_tokens": record.get("cache_read_tokens"), "cache_write_tokens": record.get("cache_write_tokens"),
            "cache_write_1h_tokens": record.get("cache_write_1h_tokens", 0),
            "reasoning_tokens": record.get("reasoning_tokens"), "cost_usd": record.get("cost_usd"),
            "provider_cost_usd": record.get("provider_cost_usd"), "provider_cost_flagged": check.get("flagged"),
            "error_class": error.get("error_class"), "unpriced": record.get("unpriced_usage")}


def expected_view(case: Case) -> dict:
    """`record_view` as the case's documentation says it must be."""
    if case.error_class is not None:
        return {"error_class": case.error_class, "cost_usd": None}
    cost = case.expected_cost_usd
    return {"input_tokens": case.input_tokens, "output_tokens": case.output_tokens,
            "cache_read_tokens": case.cache_read_tokens, "cache_write_tokens": case.cache_write_tokens,
            "cache_write_1h_tokens": case.cache_write_1h_tokens, "reasoning_tokens": case.reasoning_tokens,
            "cost_usd": float(cost) if cost is not None else None, "provider_cost_usd": case.provider_cost_usd,
            "provider_cost_flagged": case.provider_cost_flagged, "error_class": None}


def matches(case: Case, record: dict) -> bool:
    """Whether a record holds what the case's documentation says (the unpriced reason by its start)."""
    view, expected = record_view(record), expected_view(case)
    if case.unpriced is not None and not (view["unpriced"] or "").startswith(case.unpriced):
        return False
    return all(view[key] == value for key, value in expected.items())
