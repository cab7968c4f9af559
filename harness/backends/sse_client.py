"""A lean asyncio client for OpenAI-compatible streaming endpoints: the load generator's path.

The OpenAI SDK's async client costs about 8x the CPU of a bare socket client per streamed request (httpx's
pure-Python HTTP/1.1 stack, its SSE decoder, a model object per event); at a few hundred requests a second
on one core the generator, not the server, would set the measured limit. This client keeps what the SDK
gives a request here — bearer auth, the JSON body, keep-alive connections, the timeout, the status and
Retry-After of a refused request — on a small HTTP/1.1 client (backends/http_stream.py), and reads the
event stream itself: each block of bytes received is split into server-sent events, their data parsed
with orjson, and the block's events handed on together, so that they share the block's receipt time.
benchmarks/loadgen_overhead.py measures it against a minimal raw asyncio client in the same run.

Failures are classified as `api_common.to_request_failed` classifies the SDK's: HTTP status →
`classify_status` with the server's Retry-After, nothing received for `timeout_s` → `timeout`, a refused or
lost connection → `connection` before the stream began and `disconnected` after, data that is not JSON or
a reply that breaks HTTP's framing or a size cap → `malformed_stream`, an `error` object inside the stream → `stream_error`, a complete JSON reply to a
streaming request → `not_streamed`. Every message is scrubbed of the key first.

The server is not trusted with memory or time: an event may hold at most `EVENT_LIMIT` bytes before its
blank line (past that: `malformed_stream`), a refused request's body is read up to `ERROR_BODY_LIMIT`
bytes, and the bytes held between blocks are searched only where new ones arrived (linear time however
the stream is cut). The request's total time is bounded by `deadline_s` (see backends/http_stream.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson

from harness.backends.api_common import scrub
from harness.backends.failures import RequestFailed, classify_status, parse_retry_after
from harness.backends.http_stream import DEFAULT_DEADLINE_S, HTTPClient, HTTPStreamError, Response

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the OpenAI SDK's default, after OPENAI_BASE_URL
ERROR_BODY_CHARS = 2000  # how much of a refused request's body goes into the record's message
ERROR_BODY_LIMIT = 64 * 1024  # how much of it is read at all
EVENT_LIMIT = 8 * 1024 * 1024  # one event's bytes before its blank line
DONE = b"data: [DONE]"


class SSEClient:
    """Streams JSON events from POSTs to one base URL; one instance per backend, used on one event loop."""

    def __init__(self, base_url: str | None, key: str, timeout_s: float, secrets: list[str],
                 headers: dict[str, str] | None = None, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        auth = headers if headers is not None else {"authorization": f"Bearer {key}"}  # Anthropic: x-api-key
        self._http = HTTPClient(self.base_url, {**auth, "accept": "text/event-stream"}, timeout_s, deadline_s)
        self._secrets = secrets

    async def events(self, path: str, body: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """POST `body` to `path` and yield, per block of bytes received, the JSON events it completed (a block
        may complete none, one or several). Ends at `[DONE]` or at the end of the stream; raises
        `RequestFailed` for every failure."""
        streaming = False
        try:
            async with contextlib.aclosing(self._http.post(path, orjson.dumps(body))) as stream:
                # HTTPClient.post yields the Response head first, then only the body's bytes
                response = cast(Response, await anext(stream))
                blocks = cast(AsyncIterator[bytes], stream)
                if response.status >= 400:
                    raise RequestFailed(classify_status(response.status),
                                        # scrubbed before it is cut: a key across the cut would leave its start
                                        self._scrub(f"Error code: {response.status} - {await _head_of(blocks)}")
                                        [:ERROR_BODY_CHARS],
                                        status_code=response.status,
                                        retry_after_s=parse_retry_after(response.headers))
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:
                    raise RequestFailed("not_streamed", f"the server answered a streaming request with a complete "
                                        f"{kind.split(';')[0].strip() or 'untyped'} reply, not an event stream; "
                                        "TTFT cannot be measured")
                # `pending`: the bytes after the last blank line, CR and CRLF already made LF; it never holds a
                # blank line, so a new one can only be found in what a block adds (and the LF before it)
                streaming, pending, held, done = True, bytearray(), b"", False
                async for block in blocks:
                    if done:  # after [DONE]: read on to the body's end, so that the connection is kept
                        continue
                    if held:
                        block, held = held + block, b""
                    if b"\r" in block:  # CRLF or CR line ends; a CR at the very end may be half of a CRLF
                        if block.endswith(b"\r"):
                            block, held = block[:-1], b"\r"
                        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                    start = max(0, len(pending) - 1)
                    pending += block
                    cut = pending.rfind(b"\n\n", start)
                    if cut < 0:
                        if len(pending) > EVENT_LIMIT:
                            raise RequestFailed("malformed_stream", f"an event longer than {EVENT_LIMIT} bytes "
                                                "without its blank line")
                        continue
                    region = bytes(pending[:cut])
                    del pending[:cut + 2]
                    parsed, done = self._parse(region)
                    if parsed:
                        yield parsed
                pending += held
                if bytes(pending).strip() and not done:  # a last event without its blank line
                    parsed, _ = self._parse(bytes(pending))
                    if parsed:
                        yield parsed
        except HTTPStreamError as exc:
            # a reply that breaks HTTP's framing or a size cap is the server's fault, not the network's: not retried
            error_class = {"timeout": "timeout", "connect": "connection", "protocol": "malformed_stream"}.get(
                exc.kind, "disconnected" if streaming else "connection")
            raise RequestFailed(error_class, self._scrub(f"{exc.kind}: {exc}")) from None

    def _parse(self, region: bytes) -> tuple[list[dict[str, Any]], bool]:
        """JSON objects of the complete events in `region` (events separated by blank lines), and whether
        `[DONE]` was among them."""
        done = region == DONE or region.endswith(b"\n\n" + DONE)
        if done:
            region = region[:-len(DONE)].rstrip(b"\n")
        # The common case — every event one `data: {...}` line — is checked on the whole region (every newline
        # is part of a separator before the next `data: {`) and parsed as one JSON array: one call for all of
        # the block's events. Anything else (comments, several lines, an event that does not parse, an error
        # object) goes event by event.
        if region.startswith(b"data: {") and region.count(b"\n") == 2 * region.count(b"\n\ndata: {"):
            try:
                events = orjson.loads(b"[" + region[6:].replace(b"\n\ndata: ", b",") + b"]")
            except orjson.JSONDecodeError:
                pass
            else:  # one object per event: `data: {"a": 1}, 5` would otherwise pass as two events
                if len(events) == region.count(b"\n\ndata: {") + 1 and b'"error"' not in region:
                    return events, done
        elif not region:
            return [], done
        parsed, done_inside = self._parse_each(region.split(b"\n\n"))
        return parsed, done or done_inside

    def _parse_each(self, raw_events: list[bytes]) -> tuple[list[dict[str, Any]], bool]:
        """Events one by one, as the SSE format defines them: the data lines of an event joined by newlines."""
        parsed: list[dict[str, Any]] = []
        for raw in raw_events:
            data = b"\n".join(line[5:].removeprefix(b" ") for line in raw.split(b"\n") if line.startswith(b"data:"))
            if not data:
                continue  # a comment (`: keep-alive`) or an event with no data
            if data == b"[DONE]":
                return parsed, True
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                message = self._scrub(f"event data is not JSON ({exc}): {data!r}")[:ERROR_BODY_CHARS]
                raise RequestFailed("malformed_stream", message) from None
            if not isinstance(event, dict):
                raise RequestFailed("malformed_stream", self._scrub(f"event data is not a JSON object: {data!r}")
                                    [:ERROR_BODY_CHARS])
            if event.get("error"):
                raise RequestFailed("stream_error", self._scrub(f"error event in the stream: {event['error']}")
                                    [:ERROR_BODY_CHARS])
            parsed.append(event)
        return parsed, False

    def _scrub(self, text: str) -> str:
        """`text` without the secrets (and URL credentials)."""
        return scrub(text, self._secrets)

    async def close(self) -> None:
        """Close the idle connections (inside the event loop that used them)."""
        await self._http.close()


async def _head_of(blocks: AsyncIterator[bytes]) -> str:
    """The first `ERROR_BODY_LIMIT` bytes of a body, as text; the rest is left unread (the connection is then
    closed, not pooled)."""
    kept, size = [], 0
    async for block in blocks:
        kept.append(block)
        size += len(block)
        if size >= ERROR_BODY_LIMIT:
            break
    return b"".join(kept)[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
