"""Fuzzing the load client's HTTP/1.1 reader and SSE parser (backends/http_stream.py, sse_client.py) with
bytes as a server could send them, fed through an in-memory stream reader: every reply ends in events or a
classified `RequestFailed`, within the time and memory bounds; a valid chunked body cut anywhere decodes
to exactly its bytes. The seeds are the attack cases of benchmarks/attack_cases_http.py."""

from __future__ import annotations

import asyncio
import json

from hypothesis import example, given
from hypothesis import strategies as st

from harness.backends import http_stream
from harness.backends.failures import RequestFailed
from harness.backends.http_stream import HEAD_LIMIT, HTTPStreamError, _body, _Deadline, _parse_head
from harness.backends.sse_client import SSEClient
from tests.unit.fuzz.fuzz_budget import FUZZ, bounded

KEY = "sk-fuzz-key-0123456789"
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"


async def _replay(raw: bytes, cut: int):
    """What HTTPClient.post yields for a reply of `raw` bytes arriving in pieces of `cut` bytes."""
    reader = asyncio.StreamReader(limit=HEAD_LIMIT)
    for i in range(0, len(raw), cut):
        reader.feed_data(raw[i:i + cut])
    reader.feed_eof()
    loop = asyncio.get_running_loop()
    try:
        async with _Deadline(loop, 2.0, loop.time() + 2.0) as deadline:
            head = await reader.readuntil(b"\r\n\r\n")
            response, framing = _parse_head(head)
            yield response
            async for block in _body(reader, framing, deadline):
                if block is not http_stream._LEFTOVER:
                    yield block
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:  # as post() classifies them
        raise HTTPStreamError("closed", f"the connection was lost: {type(exc).__name__}") from None
    except TimeoutError:
        raise HTTPStreamError("timeout", "nothing received") from None


class _Replayed:
    def __init__(self, raw: bytes, cut: int) -> None:
        self.raw, self.cut = raw, cut

    def post(self, path: str, body: bytes):
        return _replay(self.raw, self.cut)


def _events(raw: bytes, cut: int) -> list[dict] | RequestFailed:
    client = SSEClient("http://127.0.0.1:9/v1", KEY, 2.0, [KEY])
    client._http = _Replayed(raw, max(1, cut))

    async def run() -> list[dict]:
        return [event async for block in client.events("/chat/completions", {}) for event in block]
    return bounded(lambda: asyncio.run(run()), (RequestFailed,))


def _check(outcome: list[dict] | RequestFailed) -> None:
    if isinstance(outcome, RequestFailed):
        assert outcome.error_class in ("malformed_stream", "stream_error", "disconnected", "connection", "timeout",
                                       "not_streamed", "auth", "bad_request", "not_found", "rate_limited",
                                       "server_error", "context_overflow", "refused"), outcome.error_class
        assert KEY not in str(outcome)
        assert len(str(outcome)) <= 2100
    else:
        assert all(isinstance(event, dict) for event in outcome)


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    out, pos = [], 0
    for size in sizes + [len(body)]:
        piece = body[pos:pos + max(1, size)]
        if not piece:
            break
        out.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        pos += len(piece)
    return b"".join(out) + b"0\r\n\r\n"


SIZE_LINES = st.sampled_from([b"+5", b"0x5", b"0_5", b"-5", b" 5", b"5 ", b"5;ext=1", b"00000000000000005",
                              "\u0665".encode(), b"", b"5\r", b"ffffffffffffffff"])
EVENTS = st.lists(st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=20)), max_size=3),
                  max_size=6)
LINES = st.sampled_from([b"data: ", b"data:", b": keep-alive", b"event: x", b"data: [DONE]", b"data: {\"error\": 1}",
                         b"data: {\"a\":1}, 5", b"\r\n", b"\n", b"\r", b"data: {\"a\": 1}"])


@st.composite
def replies(draw) -> bytes:
    """A server's reply: a head (chunked, length or close-delimited) and a body of events, SSE lines,
    bad chunk-size lines and raw bytes."""
    status = draw(st.sampled_from([b"200 OK", b"200 OK", b"401 No", b"500 Err", b"x", b"2000 Big"]))
    events = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in draw(EVENTS))
    noise = b"".join(draw(st.lists(st.one_of(LINES, st.binary(max_size=40)), max_size=8)))
    body = draw(st.permutations([events, noise, b"data: [DONE]\n\n"]))
    body = b"".join(body[: draw(st.integers(1, 3))])
    framing = draw(st.sampled_from(["chunked", "length", "eof", "bad-chunk", "bad-length"]))
    if framing == "chunked":
        return SSE_HEAD.replace(b"200 OK", status) + b"transfer-encoding: chunked\r\n\r\n" + _chunked(
            body, draw(st.lists(st.integers(1, 50), max_size=10)))
    if framing == "bad-chunk":
        return (SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + draw(SIZE_LINES) + b"\r\n" + body + b"\r\n"
                + b"0\r\n\r\n")
    if framing == "length":
        return SSE_HEAD.replace(b"200 OK", status) + f"content-length: {len(body)}\r\n\r\n".encode() + body
    if framing == "bad-length":
        value = draw(st.sampled_from(["+5", "\u00b2", "5 5", "-1", "0x5", "99999999999999999999"]))
        return SSE_HEAD + f"content-length: {value}\r\n\r\n".encode("latin-1") + body
    return SSE_HEAD.replace(b"200 OK", status) + b"\r\n" + body


@FUZZ
@given(raw=replies(), cut=st.integers(1, 64))
@example(raw=SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n+10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", cut=7)
@example(raw=SSE_HEAD + b"content-length: 18\r\n\r\ndata: {\"a\":1}, 5\n\n", cut=3)
@example(raw=SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + b"0" * 9000, cut=64)
@example(raw=SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n0\r\n" + b"x: y\r\n" * 4000, cut=64)
@example(raw=SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", cut=1)
def test_any_reply_gives_events_or_a_classified_failure(raw, cut):
    _check(_events(raw, cut))


@FUZZ
@given(raw=st.binary(max_size=600), cut=st.integers(1, 64))
def test_arbitrary_bytes_after_a_head(raw, cut):
    _check(_events(SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + raw, cut))
    _check(_events(raw, cut))


@FUZZ
@given(body=st.binary(max_size=3000), sizes=st.lists(st.integers(1, 700), max_size=12), cut=st.integers(1, 200))
def test_a_valid_chunked_body_decodes_to_its_bytes_however_it_is_cut(body, sizes, cut):
    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + _chunked(body, sizes)

    async def run() -> bytes:
        blocks = [block async for block in _replay(raw, cut)]
        return b"".join(blocks[1:])
    assert bounded(lambda: asyncio.run(run()), ()) == body
