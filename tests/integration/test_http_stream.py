"""The load generator's HTTP/1.1 client (backends/http_stream.py) and its SSE layer (backends/sse_client.py),
against servers that send exactly the bytes a test writes: framing split anywhere, keep-alive reuse, a
pooled connection closed while idle, a proxy tunnel, TLS with a certificate made here, every failure class."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time

import pytest

from harness.backends.failures import RequestFailed
from harness.backends.http_stream import HTTPClient, HTTPStreamError, Response
from harness.backends.proxy_env import Proxy
from harness.backends.sse_client import SSEClient

EVENTS = [{"choices": [{"index": 0, "delta": {"content": f"w{i}"}, "finish_reason": None}]} for i in range(5)]


def _sse_body(events: list[dict], done: bool = True) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + (b"data: [DONE]\n\n" if done else b"")


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


class Scripted:
    """A TCP server: for the n-th request on any connection, writes `replies[n]` in pieces of `split` bytes
    (each flushed apart); a reply of None closes the connection without answering. Counts connections."""

    def __init__(self, replies: list[bytes | None], split: int = 0, close_after: bool = False) -> None:
        self.replies, self.split, self.close_after = list(replies), split, close_after
        self.connections, self.requests, self.writers = 0, [], []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0)
                if reply is None:
                    break
                step = self.split or len(reply)
                for i in range(0, len(reply), step):
                    writer.write(reply[i:i + step])
                    await writer.drain()
                    await asyncio.sleep(0.001)
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def _stream_reply(body: bytes, size: int = 7) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + _chunked(body, size)


async def _texts(client: SSEClient) -> list[str]:
    return [e["choices"][0]["delta"]["content"] async for block in client.events("/chat/completions", {"m": 1})
            for e in block]


@pytest.mark.parametrize("split", [0, 1, 3, 13])
def test_chunked_event_stream_split_anywhere_gives_every_event_once(split):
    async def run() -> None:
        async with Scripted([_stream_reply(_sse_body(EVENTS))] * 3, split=split) as url:
            client = SSEClient(url, "k", 5, [])
            for _ in range(3):
                assert await _texts(client) == [f"w{i}" for i in range(5)]
            await client.close()
    asyncio.run(run())


def test_keep_alive_reuses_one_connection_and_sends_the_request_as_written():
    async def run() -> None:
        server = Scripted([_stream_reply(_sse_body(EVENTS))] * 4)
        async with server as url:
            client = SSEClient(url, "sk-test", 5, [])
            for _ in range(4):
                await _texts(client)
            await client.close()
        assert server.connections == 1
        head, _, body = server.requests[0].partition(b"\r\n\r\n")
        assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert b"authorization: Bearer sk-test" in head and json.loads(body) == {"m": 1}
    asyncio.run(run())


def test_content_length_and_close_delimited_bodies():
    body = _sse_body(EVENTS)
    by_length = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    by_close = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + body

    async def run() -> None:
        async with Scripted([by_length, by_length], split=5) as url:
            client = SSEClient(url, "k", 5, [])
            assert await _texts(client) == await _texts(client) == [f"w{i}" for i in range(5)]
        server = Scripted([by_close, by_close], split=5, close_after=True)
        async with server as url:
            client = SSEClient(url, "k", 5, [])
            assert await _texts(client) == await _texts(client) == [f"w{i}" for i in range(5)]
        assert server.connections == 2  # not reused after `connection: close`
    asyncio.run(run())


def test_a_pooled_connection_closed_while_idle_is_retried_once_on_a_new_one():
    async def run() -> None:
        server = Scripted([_stream_reply(_sse_body(EVENTS)), None, _stream_reply(_sse_body(EVENTS))])
        async with server as url:
            client = SSEClient(url, "k", 5, [])
            await _texts(client)
            assert await _texts(client) == [f"w{i}" for i in range(5)]
        assert server.connections == 2 and len(server.requests) == 3
    asyncio.run(run())


def test_sse_comments_multiline_data_and_crlf_are_read_as_the_format_defines():
    body = (b": keep-alive\r\n\r\n"
            + b'data: {"choices": [{"delta": {"content": "a"},\r\ndata:  "finish_reason": null}]}\r\n\r\n'
            + b'event: message\ndata: {"choices": [{"delta": {"content": "b"}}]}\n\ndata: [DONE]\n\n')

    async def run() -> None:
        async with Scripted([_stream_reply(body, size=11)]) as url:
            assert await _texts(SSEClient(url, "k", 5, [])) == ["a", "b"]
    asyncio.run(run())


def _failure(reply: bytes | None, timeout_s: float = 5) -> RequestFailed:
    async def run() -> RequestFailed:
        async with Scripted([reply]) as url:
            client = SSEClient(url, "sk-secret-key", timeout_s, ["sk-secret-key"])
            with pytest.raises(RequestFailed) as caught:
                await _texts(client)
            return caught.value
    return asyncio.run(run())


def test_failures_are_classified_like_the_sdks():
    refused = _failure(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-type: application/json\r\n"
                       b"content-length: 41\r\n\r\n" + b'{"error": "slow down, sk-secret-key ...."}')
    assert (refused.error_class, refused.status_code, refused.retry_after_s) == ("rate_limited", 429, 3.0)
    assert "sk-secret-key" not in str(refused) and "***" in str(refused)
    assert _failure(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").error_class \
        == "not_streamed"
    assert _failure(_stream_reply(b'data: {"choices": [\n\n')).error_class == "malformed_stream"
    assert _failure(_stream_reply(b'data: {"error": {"message": "overloaded"}}\n\n')).error_class == "stream_error"
    cut = _stream_reply(_sse_body(EVENTS))[:-40]
    assert _failure(cut, timeout_s=0.5).error_class == "timeout"  # the server keeps the connection open
    assert _failure(None).error_class == "connection"  # closed before any response


def test_no_data_within_the_timeout_is_a_timeout_and_a_cut_stream_is_disconnected():
    async def run() -> tuple[RequestFailed, RequestFailed]:
        async def stall(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(_stream_reply(_sse_body(EVENTS[:1], done=False))[:-5])
            await asyncio.sleep(2)
            writer.close()

        async def cut(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(_stream_reply(_sse_body(EVENTS))[:90])
            await writer.drain()
            writer.close()
        failures = []
        for handler in (stall, cut):
            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(RequestFailed) as caught:
                await _texts(SSEClient(f"http://127.0.0.1:{port}/v1", "k", 0.3, []))
            failures.append(caught.value)
            server.close()
        return failures[0], failures[1]
    timeout, disconnected = asyncio.run(run())
    assert timeout.error_class == "timeout" and disconnected.error_class == "disconnected"


def test_connection_refused_is_connection():
    async def run() -> RequestFailed:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(RequestFailed) as caught:
            await _texts(SSEClient(f"http://127.0.0.1:{port}/v1", "k", 1, []))
        return caught.value
    assert asyncio.run(run()).error_class == "connection"


def test_tls_with_a_certificate_from_ssl_cert_file_and_a_proxy_tunnel(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,DNS:origin.test"],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    async def run() -> tuple[list[str], list[bytes]]:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        origin = Scripted([_stream_reply(_sse_body(EVENTS))] * 2)
        origin.server = await asyncio.start_server(origin._serve, "127.0.0.1", 0, ssl=server_tls)
        origin_port = origin.server.sockets[0].getsockname()[1]
        tunnels: list[bytes] = []

        async def proxy(reader, writer):  # an HTTP CONNECT proxy
            head = await reader.readuntil(b"\r\n\r\n")
            tunnels.append(head.split(b"\r\n")[0])
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", origin_port)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(src, dst):
                while data := await src.read(65536):
                    dst.write(data)
                dst.close()
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        proxy_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        url = f"https://localhost:{origin_port}/v1"
        direct = await _texts(SSEClient(url, "k", 5, []))
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy_server.sockets[0].getsockname()[1]}")
        monkeypatch.setenv("no_proxy", "")
        # a loopback host is never proxied: the tunnel is asked for a name only the proxy resolves (to the origin)
        through_proxy = await _texts(SSEClient(url.replace("localhost", "origin.test"), "k", 5, []))
        origin.server.close()
        proxy_server.close()
        return direct + through_proxy, tunnels
    texts, tunnels = asyncio.run(run())
    assert texts == [f"w{i}" for i in range(5)] * 2
    assert len(tunnels) == 1 and tunnels[0].startswith(b"CONNECT origin.test:")


def test_a_bad_chunk_size_is_a_protocol_error():
    async def run() -> None:
        async with Scripted([b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                             b"zz\r\nhello\r\n0\r\n\r\n"]) as url:
            client = HTTPClient(url, {}, 5)
            blocks = client.post("/x", b"{}")
            assert isinstance(await anext(blocks), Response)
            with pytest.raises(HTTPStreamError) as caught:
                await anext(blocks)
            assert caught.value.kind == "protocol"
    asyncio.run(run())


def test_a_retry_opens_a_new_connection_when_every_pooled_one_was_closed():
    async def run() -> tuple[Scripted, list[str]]:
        server = Scripted([_stream_reply(_sse_body(EVENTS))] * 3)
        async with server as url:
            client = SSEClient(url, "k", 5, [])
            await asyncio.gather(_texts(client), _texts(client))   # two connections in the pool
            for writer in server.writers:                          # the server closes both while idle
                writer.close()
            return server, await _texts(client)
    server, texts = asyncio.run(run())
    assert texts == [f"w{i}" for i in range(5)] and server.connections == 3


def test_waits_for_the_network_are_bounded_and_the_callers_own_time_is_not():
    async def run() -> tuple[RequestFailed, float, list[str]]:
        async def silent_proxy(reader, writer):  # accepts, never answers CONNECT
            await asyncio.sleep(10)
        proxy = await asyncio.start_server(silent_proxy, "127.0.0.1", 0)
        http = HTTPClient("https://127.0.0.1:9/v1", {}, 0.3)
        http._proxy = Proxy("127.0.0.1", proxy.sockets[0].getsockname()[1], None)
        t0 = time.monotonic()
        with pytest.raises(HTTPStreamError) as caught:
            await anext(http.post("/x", b"{}"))
        waited_s = time.monotonic() - t0
        proxy.close()
        async with Scripted([_stream_reply(_sse_body(EVENTS), size=40)], split=60) as url:
            client, texts = SSEClient(url, "k", 0.3, []), []
            async for block in client.events("/chat/completions", {}):
                await asyncio.sleep(0.5)  # the caller takes longer than timeout_s between blocks
                texts += [e["choices"][0]["delta"]["content"] for e in block]
        return caught.value, waited_s, texts
    error, waited_s, texts = asyncio.run(run())
    assert error.kind == "timeout" and waited_s < 2
    assert texts == [f"w{i}" for i in range(5)]


@pytest.mark.parametrize("reply, error_class", [
    (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n-6\r\nhello\r\n",
     "malformed_stream"),                                               # a negative chunk size: no endless loop
    (_stream_reply(b'data: [1, 2]\n\ndata: "text"\n\n'), "malformed_stream"),    # events that are not objects
    (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: many\r\n\r\n", "malformed_stream"),
])
def test_malformed_replies_are_classified_at_once(reply, error_class):
    async def run() -> RequestFailed:
        return await asyncio.wait_for(asyncio.to_thread(_failure, reply), timeout=10)
    assert asyncio.run(run()).error_class == error_class


def test_a_key_across_the_cut_of_a_long_error_body_leaves_no_part_of_it():
    key = "sk-" + "k" * 160
    body = b'{"error": "' + b"x" * 1980 + key.encode() + b'"}'
    reply = (b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: "
             + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def run() -> RequestFailed:
        async with Scripted([reply]) as url:
            with pytest.raises(RequestFailed) as caught:
                await _texts(SSEClient(url, key, 5, [key]))
            return caught.value
    message = str(asyncio.run(run()))
    assert "sk-kkkk" not in message and "kkkkkkkkkk" not in message
