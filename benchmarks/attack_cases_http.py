"""Hostile servers, files and settings against the harness: the load client (HTTP/SSE), URL and key
redaction, the trace/workload loaders, the GGUF reader, the weights digest cache, dataset templates and
dataset cards. Each case is a function that builds its attack, runs the harness's own code on it, and
returns a one-line outcome; it raises AssertionError when the harness leaks, hangs, over-buffers or
answers the wrong request. `cases()` lists them; benchmarks/attack_corpus.py runs them with a deadline and
a memory bound each, and tests/integration/test_attack_cases.py runs each as a test.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

KEY = "sk-attack-" + "q7" * 12  # what a leak would show
FAST_S = 10.0  # every network case must end well within this


# ---- a scripted server ---------------------------------------------------------------------------------

@contextmanager
def _env(**values: str | None):
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _no_proxies():
    return _env(**dict.fromkeys(("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "no_proxy", "NO_PROXY")))


async def _serve(handler) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
CHUNKED = SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n"


def _event_chunks(*events: dict) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


def _delta(text: str) -> dict:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def _stream_failure(reply: Callable, timeout_s: float = 2.0, deadline_s: float = 900.0) -> tuple[object, float]:
    """Run one SSE request against a server whose connection handler is `reply(writer)` (async); returns the
    RequestFailed raised (or the events, when none was) and the seconds it took."""
    from harness.backends.failures import RequestFailed
    from harness.backends.sse_client import SSEClient

    async def run():
        async def handler(reader, writer):
            try:
                await _read_request(reader)
                await reply(writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                writer.close()
        server, port = await _serve(handler)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            client = SSEClient(url, KEY, timeout_s, [KEY], deadline_s=deadline_s)
        except TypeError:  # a client with no total deadline (the harness before it had one)
            client = SSEClient(url, KEY, timeout_s, [KEY])
        t0 = time.monotonic()
        try:
            events = [e async for block in client.events("/chat/completions", {"m": 1}) for e in block]
            outcome = events
        except RequestFailed as exc:
            outcome = exc
        finally:
            await client.close()
            server.close()
        return outcome, time.monotonic() - t0
    with _no_proxies():
        return asyncio.run(asyncio.wait_for(run(), FAST_S))


def _endless(prefix: bytes, filler: bytes, block: int = 1 << 16):
    async def reply(writer):
        writer.write(prefix)
        piece = filler * max(1, block // len(filler))
        while True:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)  # drain() on a closed transport returns at once: let the loop run
    return reply


def _expect_failure(outcome, error_class: str, seconds: float, within_s: float = FAST_S) -> str:
    from harness.backends.failures import RequestFailed

    assert isinstance(outcome, RequestFailed), f"no failure: {str(outcome)[:200]}"
    assert outcome.error_class == error_class, f"classified {outcome.error_class}, not {error_class}: {outcome}"
    assert KEY not in str(outcome), "the key is in the message"
    assert seconds < within_s, f"took {seconds:.1f} s"
    return f"{error_class} in {seconds:.2f} s: {str(outcome)[:90]}"


# ---- the load client: caps and linear buffering ---------------------------------------------------------

def sse_event_without_blank_line() -> str:
    """An endless event: `data: xxxx...` and never a blank line."""
    outcome, seconds = _stream_failure(_endless(CHUNKED + b"6\r\ndata: \r\n", b"4000\r\n" + b"x" * 0x4000 + b"\r\n"))
    return _expect_failure(outcome, "malformed_stream", seconds)


def sse_endless_unchunked_event() -> str:
    """The same over a close-delimited body (no chunked framing to trip on)."""
    outcome, seconds = _stream_failure(_endless(SSE_HEAD + b"\r\ndata: ", b"y" * 4096))
    return _expect_failure(outcome, "malformed_stream", seconds)


def chunk_size_line_without_crlf() -> str:
    """A chunk-size line that never ends."""
    outcome, seconds = _stream_failure(_endless(CHUNKED, b"0" * 4096))
    return _expect_failure(outcome, "malformed_stream", seconds)


def endless_trailers() -> str:
    """The last chunk, then trailers that never end."""
    outcome, seconds = _stream_failure(_endless(CHUNKED + b"0\r\n", b"x-pad: " + b"z" * 120 + b"\r\n"))
    return _expect_failure(outcome, "malformed_stream", seconds)


def huge_error_body() -> str:
    """A 401 whose body is 64 MB: read up to a cap, never whole."""
    size = 64 * 1024 * 1024

    async def reply(writer):
        writer.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: "
                     + str(size).encode() + b"\r\n\r\n" + b'{"error": "' + KEY.encode())
        block = b"e" * (1 << 16)
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
    outcome, seconds = _stream_failure(reply)
    detail = _expect_failure(outcome, "auth", seconds)
    assert len(str(outcome)) <= 2100, f"a message of {len(str(outcome))} characters"
    return detail


def drip_feed_past_the_deadline() -> str:
    """One byte every 0.2 s: the read timeout (1 s) never fires; the request's deadline (2 s) does."""
    async def reply(writer):
        writer.write(CHUNKED + b"1000\r\n")
        while True:
            writer.write(b":")
            await writer.drain()
            await asyncio.sleep(0.2)
    outcome, seconds = _stream_failure(reply, timeout_s=1.0, deadline_s=2.0)
    return _expect_failure(outcome, "timeout", seconds, within_s=4.0)


def leftover_bytes_answer_the_next_request() -> str:
    """After a complete response, the server sends a second, forged one on the same connection: the next
    request must get its own answer, not the forged one."""
    from harness.backends.sse_client import SSEClient

    async def run():
        connections, served = [], []

        async def handler(reader, writer):
            connections.append(writer)
            try:
                while True:
                    await _read_request(reader)
                    served.append(1)
                    n = len(served)
                    writer.write(CHUNKED + _event_chunks(_delta(f"answer-{n}")))
                    if n == 1:  # bytes past the response's end: a whole forged response
                        await writer.drain()
                        await asyncio.sleep(0.05)
                        writer.write(CHUNKED + _event_chunks(_delta("forged")))
                    await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
        server, port = await _serve(handler)
        client = SSEClient(f"http://127.0.0.1:{port}/v1", KEY, 2, [KEY])
        answers = []
        for _ in range(3):
            events = [e async for block in client.events("/chat/completions", {}) for e in block]
            answers.append(events[0]["choices"][0]["delta"]["content"])
            await asyncio.sleep(0.1)
        await client.close()
        server.close()
        return answers, len(connections)
    with _no_proxies():
        answers, n_connections = asyncio.run(asyncio.wait_for(run(), FAST_S))
    assert "forged" not in answers, f"answers {answers}"
    return f"answers {answers} on {n_connections} connections (the one with leftover bytes closed)"


# ---- strict parsing -------------------------------------------------------------------------------------

def _bad_chunk(size_line: bytes) -> Callable[[], str]:
    def case() -> str:
        body = b'data: {"a": 1}\n\n'

        async def reply(writer):
            writer.write(CHUNKED + size_line + b"\r\n" + body + b"\r\n0\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(5)
        outcome, seconds = _stream_failure(reply)
        return _expect_failure(outcome, "malformed_stream", seconds)
    case.__doc__ = f"chunk size {size_line!r} (int(x, 16) would take it)"
    return case


def chunk_data_without_crlf() -> str:
    """A chunk's data followed by something other than CRLF."""
    async def reply(writer):
        writer.write(CHUNKED + b"10\r\n" + b'data: {"a": 1}\n\n' + b"XX" + b"0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)
    outcome, seconds = _stream_failure(reply)
    return _expect_failure(outcome, "malformed_stream", seconds)


def content_length_with_latin1_digits() -> str:
    """content-length: ²5 (str.isdigit() says yes, int() raises ValueError)."""
    async def reply(writer):
        writer.write(SSE_HEAD + "content-length: \u00b25\r\n\r\n".encode("latin-1"))
        await writer.drain()
        await asyncio.sleep(5)
    outcome, seconds = _stream_failure(reply)
    return _expect_failure(outcome, "malformed_stream", seconds)


def event_data_with_trailing_value() -> str:
    """`data: {"a":1}, 5`: one event whose data is not one JSON object."""
    async def reply(writer):
        body = b'data: {"choices": []}, 5\n\ndata: [DONE]\n\n'
        writer.write(SSE_HEAD + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
    outcome, seconds = _stream_failure(reply)
    return _expect_failure(outcome, "malformed_stream", seconds)


def megabyte_error_event() -> str:
    """An `error` event of 1 MB: the message is cut, not kept whole."""
    async def reply(writer):
        body = b'data: {"error": {"message": "' + KEY.encode() + b"m" * (1 << 20) + b'"}}\n\n'
        writer.write(SSE_HEAD + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
    outcome, seconds = _stream_failure(reply)
    detail = _expect_failure(outcome, "stream_error", seconds)
    assert len(str(outcome)) <= 2100, f"a message of {len(str(outcome))} characters"
    return detail


def key_with_crlf_injects_a_header() -> str:
    """OPENAI_API_KEY ending in CRLF + a header of the attacker's: refused, naming the variable."""
    from harness.backends.api_common import api_key
    from harness.config.model_config import OpenAIModel

    cfg = OpenAIModel(name="m", kind="openai", model="x", base_url="http://127.0.0.1:9/v1", api_key_env="ATTACK_KEY")
    with _env(ATTACK_KEY=KEY + "\r\nx-injected: 1"):
        try:
            api_key(cfg)
        except Exception as exc:  # noqa: BLE001 - the class is checked below
            assert type(exc).__name__ == "ConfigError", f"{type(exc).__name__}: {exc}"
            assert "ATTACK_KEY" in str(exc) and KEY not in str(exc), str(exc)
            return f"refused: {exc}"
    raise AssertionError("a key with CR/LF was accepted")


# ---- proxies --------------------------------------------------------------------------------------------

def _proxy_refused(variable: str, url: str) -> Callable[[], str]:
    def case() -> str:
        from harness.backends.sse_client import SSEClient

        with _no_proxies(), _env(**{variable: url}):
            try:
                SSEClient("https://api.example.com/v1", KEY, 1, [KEY])
            except ValueError as exc:
                assert variable in str(exc) and "secret" not in str(exc), str(exc)
                return f"refused: {exc}"
        raise AssertionError(f"{variable}={url} was accepted (a plain-text CONNECT would carry its credentials)")
    case.__doc__ = f"{variable}={url}"
    return case


class _RecordingProxy:
    """An HTTP proxy that records each request line and answers it itself with an event stream."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    async def handler(self, reader, writer):
        try:
            request = await _read_request(reader)
            self.lines.append(request.split(b"\r\n")[0])
            writer.write(CHUNKED + _event_chunks(_delta("via-proxy")))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, IndexError):
            pass
        writer.close()


def all_proxy_is_read() -> str:
    """ALL_PROXY alone names the proxy (as httpx reads it) for a remote host."""
    from harness.backends.sse_client import SSEClient

    async def run():
        proxy = _RecordingProxy()
        server, port = await _serve(proxy.handler)
        with _env(ALL_PROXY=f"http://127.0.0.1:{port}"):
            client = SSEClient("http://origin.invalid/v1", KEY, 2, [KEY])
        events = [e async for block in client.events("/chat/completions", {}) for e in block]
        server.close()
        return proxy.lines, events
    with _no_proxies():
        lines, _ = asyncio.run(asyncio.wait_for(run(), FAST_S))
    assert lines and lines[0].startswith(b"POST http://origin.invalid"), f"the proxy saw {lines}"
    return f"through ALL_PROXY: {lines[0].decode()}"


def loopback_is_never_proxied() -> str:
    """http_proxy set, no no_proxy: a request to 127.0.0.1 goes straight to it, the key never to the proxy."""
    from harness.backends.sse_client import SSEClient

    async def run():
        proxy = _RecordingProxy()
        proxy_server, proxy_port = await _serve(proxy.handler)

        async def origin(reader, writer):
            await _read_request(reader)
            writer.write(CHUNKED + _event_chunks(_delta("direct")))
            await writer.drain()
            writer.close()
        server, port = await _serve(origin)
        with _env(http_proxy=f"http://127.0.0.1:{proxy_port}", HTTP_PROXY=f"http://127.0.0.1:{proxy_port}"):
            client = SSEClient(f"http://127.0.0.1:{port}/v1", KEY, 2, [KEY])
        events = [e async for block in client.events("/chat/completions", {}) for e in block]
        server.close()
        proxy_server.close()
        return proxy.lines, events
    with _no_proxies():
        lines, events = asyncio.run(asyncio.wait_for(run(), FAST_S))
    assert not lines, f"the proxy saw {lines}"
    return f"direct: {events[0]['choices'][0]['delta']['content']}"


def sdk_loopback_is_never_proxied() -> str:
    """The SDK path (one request at a time): http_proxy set, a local server; the key never goes to the proxy."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import openai

    from harness.backends import api_common

    # the SDK's own client where the harness has no choice of its own (before it had one)
    sdk_http_client = getattr(api_common, "sdk_http_client", lambda sdk, url: None)
    seen: list[str] = []

    def handler(name: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(f"{name} {self.path}")
                body = b'{"object": "list", "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "x"}]}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        return Handler
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler("proxy"))
    origin = ThreadingHTTPServer(("127.0.0.1", 0), handler("origin"))
    for httpd in (proxy, origin):
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{origin.server_port}/v1"
    try:
        with _no_proxies(), _env(http_proxy=f"http://127.0.0.1:{proxy.server_port}",
                                 HTTP_PROXY=f"http://127.0.0.1:{proxy.server_port}"):
            client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=5,
                                   http_client=sdk_http_client(openai, base_url))
            models = [m.id for m in client.models.list()]
    finally:
        proxy.shutdown()
        origin.shutdown()
    assert all(not s.startswith("proxy") for s in seen), f"the proxy saw {seen}"
    return f"direct: {seen}, models {models}"


def probe_and_scrape_follow_no_redirect_nor_proxy() -> str:
    """The readiness probe and the /metrics scrape against a server that redirects to another host, with
    http_proxy set: the other host and the proxy see nothing (they would see the key)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from harness.execution import serve

    seen: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("location", f"http://127.0.0.2:{sink.server_port}/steal")
            self.end_headers()

        def log_message(self, *args):
            pass

    class Sink(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(f"{self.path} {self.headers.get('authorization')}")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x 1\n")

        def log_message(self, *args):
            pass
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    origin = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for httpd in (sink, origin):
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with _no_proxies(), _env(http_proxy=f"http://127.0.0.1:{sink.server_port}"):
            metrics = serve.scrape_metrics(f"http://127.0.0.1:{origin.server_port}/v1", KEY)
            opener = getattr(serve, "DIRECT", None)
            request = urllib.request.Request(f"http://127.0.0.1:{origin.server_port}/v1/models",
                                             headers={"Authorization": f"Bearer {KEY}"})
            try:
                (opener.open if opener else urllib.request.urlopen)(request, timeout=2).close()
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
    finally:
        sink.shutdown()
        origin.shutdown()
    assert not seen, f"the key went to {seen}"
    assert metrics is None and status == 302, f"metrics {metrics}, probe status {status}"
    return f"scrape: no metrics; probe: HTTP {status}, not followed; the proxy and the other host saw nothing"


# ---- secrets in URLs and logs ---------------------------------------------------------------------------

def url_credentials_in_stored_config() -> str:
    """base_url with user:password@ and ?api_key=: the stored configuration holds neither."""
    from harness.config.model_config import OpenAIModel
    from harness.config.redact import public_config

    cfg = OpenAIModel(name="m", kind="openai", model="x",
                      base_url="https://alice:pw-secret-1@api.example.com/v1?api_key=qs-secret-2&sig=qs-secret-3")
    stored = json.dumps(public_config(cfg))
    for secret in ("pw-secret-1", "qs-secret-2", "qs-secret-3"):
        assert secret not in stored, f"{secret} stored: {stored}"
    return f"stored as {public_config(cfg)['base_url']}"


def url_credentials_in_error_text() -> str:
    """A connection error names the URL: its credentials are redacted there too."""
    from harness.backends.api_common import scrub

    text = scrub("cannot connect to https://bob:hunter22@h.example/v1?key=AIzaSECRET9: refused", [KEY])
    assert "hunter22" not in text and "AIzaSECRET9" not in text, text
    return text


def hf_token_in_server_log() -> str:
    """A launched server prints HF_TOKEN (and the API key) into its log: the log holds neither."""
    from harness.config.model_config import LaunchConfig, OpenAIModel
    from harness.config.redact import secret_values
    from harness.execution.serve import Server

    hf_token = "hf_attack" + "Z9" * 12
    script = ("import os, sys, http.server; print('token', os.environ.get('HF_TOKEN'), os.environ.get('ATTACK_KEY'),"
              " flush=True); http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])),"
              " http.server.SimpleHTTPRequestHandler).serve_forever()")
    launch = LaunchConfig(command=["{python}", "-c", script, "{port}"], ready_url="http://127.0.0.1:{port}/",
                          timeout_s=20)
    with tempfile.TemporaryDirectory() as folder, _env(HF_TOKEN=hf_token, ATTACK_KEY=KEY), _no_proxies():
        cfg = OpenAIModel(name="m", kind="openai", model="x", base_url="http://127.0.0.1:{port}/v1",
                          api_key_env="ATTACK_KEY", self_hosted=True, launch=launch)
        log = Path(folder) / "server.log"
        server = Server(launch, cfg.base_url, log, secrets=secret_values(cfg), api_key=KEY)
        try:
            server.start()
        finally:
            server.stop()
        text = log.read_text()
    assert "token" in text, f"the server printed nothing: {text[:200]}"
    assert hf_token not in text and KEY not in text, f"the log holds a key: {text[:300]}"
    return f"log: {text.splitlines()[0][:80]}"


# ---- trace and workload loaders -------------------------------------------------------------------------

def _trace_refused(line: str) -> Callable[[], str]:
    def case() -> str:
        from harness.errors import SuiteError
        from harness.suites.workload import parse_workload

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "trace.jsonl"
            path.write_text('{"input_tokens": 10, "output_tokens": 5, "at_s": 0}\n' + line + "\n")
            try:
                spec = parse_workload(f"trace={path}")
            except SuiteError as exc:
                assert f"{path}:2" in str(exc), f"the message names no file and row: {exc}"
                return f"refused: {str(exc).replace(str(path), 'trace.jsonl')}"
        raise AssertionError(f"accepted: {spec.trace_rows[-1]}")
    case.__doc__ = f"trace row {line}"
    return case


def workload_absurd_length() -> str:
    """--workload in=1e300: refused, not drawn."""
    from harness.errors import SuiteError
    from harness.suites.workload import parse_workload

    try:
        spec = parse_workload("in=1e300,out=10")
    except SuiteError as exc:
        return f"refused: {exc}"
    raise AssertionError(f"accepted: {spec.describe()}")


# ---- GGUF headers ---------------------------------------------------------------------------------------

def _gguf(metadata: list[tuple[str, int, bytes]], tensors: list[tuple[str, list[int], int, int]],
          data_bytes: int) -> bytes:
    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw
    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(metadata))]
    for key, kind, value in metadata:
        out += [string(key), struct.pack("<I", kind), value]
    for name, dims, kind, offset in tensors:
        out += [string(name), struct.pack("<I", len(dims)), *(struct.pack("<Q", d) for d in dims),
                struct.pack("<IQ", kind, offset)]
    head = b"".join(out)
    head += b"\0" * (-len(head) % 32)
    return head + b"\0" * data_bytes


def _gguf_refused(make: Callable[[], bytes], what: str) -> Callable[[], str]:
    def case() -> str:
        from harness.config.gguf import GGUFError, read_gguf_info

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.gguf"
            path.write_bytes(make())
            try:
                info = read_gguf_info(path)
            except GGUFError as exc:
                return f"refused: {exc}"
            except Exception as exc:  # noqa: BLE001 - the point: anything else escaped
                raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from None
        raise AssertionError(f"accepted: {info}")
    case.__doc__ = what
    return case


GGUF_CASES = {
    "gguf_alignment_zero": (lambda: _gguf([("general.alignment", 4, struct.pack("<I", 0))],
                                          [("t", [32], 0, 0)], 128), "general.alignment = 0 (ZeroDivisionError)"),
    "gguf_alignment_not_a_number": (lambda: _gguf([("general.alignment", 8, struct.pack("<Q", 3) + b"abc")],
                                                  [("t", [32], 0, 0)], 128), "general.alignment a string (ValueError)"),
    "gguf_nested_arrays": (lambda: _gguf([("x", 9, struct.pack("<IQ", 9, 1) * 5000 + struct.pack("<IQ", 4, 0))],
                                         [], 0), "arrays nested 5,000 deep (RecursionError)"),
    "gguf_truncated_iq2_xxs": (lambda: _gguf([], [("t", [4096], 16, 0)], 100), "truncated last IQ2_XXS tensor"),
    "gguf_truncated_tq1_0": (lambda: _gguf([], [("t", [4096], 34, 0)], 100), "truncated last TQ1_0 tensor"),
    "gguf_truncated_mxfp4": (lambda: _gguf([], [("t", [4096], 39, 0)], 100), "truncated last MXFP4 tensor"),
}


# ---- the weights digest cache ---------------------------------------------------------------------------

def digest_cache_with_restored_mtime() -> str:
    """A blob rewritten in place, same size, its mtime set back: the digest is computed again."""
    from harness.config.sources import file_sha256

    with tempfile.TemporaryDirectory() as folder, _env(HARNESS_CACHE_DIR=folder, HARNESS_REHASH=None):
        blob = Path(folder) / "blob"
        blob.write_bytes(b"a" * 4096)
        first = file_sha256(blob)
        stat = blob.stat()
        time.sleep(0.02)
        with blob.open("r+b") as handle:
            handle.write(b"b" * 4096)
        os.utime(blob, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        second = file_sha256(blob)
    assert first != second, "the cached digest of the old content was returned"
    return f"rehashed: {first[:12]} -> {second[:12]}"


# ---- dataset templates and cards ------------------------------------------------------------------------

def _template_refused(template: str, within_s: float = 5.0) -> Callable[[], str]:
    def case() -> str:
        from harness.errors import SuiteError
        from harness.suites.dataset_suite import Templates, parse_spec

        path = Path("attack-suite.yaml")
        spec = parse_spec({"kind": "dataset", "name": "attack", "version": 1,
                           "source": {"files": ["rows.jsonl"]}, "prompt": {"chat": template},
                           "expected": "answer", "checker": {"kind": "exact"}, "max_tokens": 8}, path)
        t0 = time.monotonic()
        try:
            rendered = Templates(spec, path).render("prompt.chat", {"index": 0, "q": "x", "answer": "y"})
        except SuiteError as exc:
            seconds = time.monotonic() - t0
            assert "attack-suite.yaml" in str(exc) and "prompt.chat" in str(exc), f"no file/key context: {exc}"
            assert seconds < within_s, f"took {seconds:.1f} s"
            return f"refused in {seconds:.2f} s: {str(exc)[:110]}"
        except Exception as exc:  # noqa: BLE001 - the point: anything else escaped
            raise AssertionError(f"{type(exc).__name__} escaped without file/key context: {str(exc)[:200]}") \
                from None
        raise AssertionError(f"rendered {len(rendered)} characters in {time.monotonic() - t0:.1f} s")
    case.__doc__ = f"template {template}"
    return case


def dataset_card_data_files_outside() -> str:
    """A dataset card whose data_files is ../x: refused before anything is read."""
    from harness.errors import InputError
    from harness.suites.dataset_rows import _split_patterns

    configs = [{"config_name": "default", "data_files": [{"split": "test", "path": "../../../etc/passwd"}]}]
    try:
        patterns = _split_patterns(configs, None, ["test"])
    except InputError as exc:
        return f"refused: {exc}"
    raise AssertionError(f"accepted: {patterns}")


def cases() -> list[tuple[str, Callable[[], str]]]:
    """Every case, by name."""
    listed: list[tuple[str, Callable[[], str]]] = [
        ("sse_event_without_blank_line", sse_event_without_blank_line),
        ("sse_endless_unchunked_event", sse_endless_unchunked_event),
        ("chunk_size_line_without_crlf", chunk_size_line_without_crlf),
        ("endless_trailers", endless_trailers),
        ("huge_error_body", huge_error_body),
        ("drip_feed_past_the_deadline", drip_feed_past_the_deadline),
        ("leftover_bytes_answer_the_next_request", leftover_bytes_answer_the_next_request),
        ("chunk_size_plus_sign", _bad_chunk(b"+10")),
        ("chunk_size_0x_prefix", _bad_chunk(b"0x10")),
        ("chunk_size_underscore", _bad_chunk(b"1_0")),
        ("chunk_size_17_hex_digits", _bad_chunk(b"00000000000000010")),
        ("chunk_data_without_crlf", chunk_data_without_crlf),
        ("content_length_with_latin1_digits", content_length_with_latin1_digits),
        ("event_data_with_trailing_value", event_data_with_trailing_value),
        ("megabyte_error_event", megabyte_error_event),
        ("key_with_crlf_injects_a_header", key_with_crlf_injects_a_header),
        ("https_proxy_scheme", _proxy_refused("https_proxy", "https://user:secret@proxy.example:3128")),
        ("socks5_proxy_scheme", _proxy_refused("ALL_PROXY", "socks5://user:secret@proxy.example:1080")),
        ("all_proxy_is_read", all_proxy_is_read),
        ("loopback_is_never_proxied", loopback_is_never_proxied),
        ("sdk_loopback_is_never_proxied", sdk_loopback_is_never_proxied),
        ("probe_and_scrape_follow_no_redirect_nor_proxy", probe_and_scrape_follow_no_redirect_nor_proxy),
        ("url_credentials_in_stored_config", url_credentials_in_stored_config),
        ("url_credentials_in_error_text", url_credentials_in_error_text),
        ("hf_token_in_server_log", hf_token_in_server_log),
        ("trace_at_s_infinity", _trace_refused('{"input_tokens": 10, "output_tokens": 5, "at_s": Infinity}')),
        ("trace_at_s_nan", _trace_refused('{"input_tokens": 10, "output_tokens": 5, "at_s": NaN}')),
        ("trace_absurd_token_count", _trace_refused('{"input_tokens": ' + "9" * 40 + ', "output_tokens": 5, '
                                                    '"at_s": 1}')),
        ("workload_absurd_length", workload_absurd_length),
        *((name, _gguf_refused(make, what)) for name, (make, what) in GGUF_CASES.items()),
        ("digest_cache_with_restored_mtime", digest_cache_with_restored_mtime),
        ("template_string_repeat", _template_refused("{{ 'x' * 1000000000 }}")),
        ("template_huge_power", _template_refused("{{ 7 ** 999999999 }}")),
        ("template_nested_loops", _template_refused(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")),
        ("template_division_by_zero", _template_refused("{{ 1 / 0 }}")),
        ("dataset_card_data_files_outside", dataset_card_data_files_outside),
    ]
    return listed


if __name__ == "__main__":
    sys.exit("run benchmarks/attack_corpus.py")
