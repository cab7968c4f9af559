"""A small HTTP/1.1 client for streamed POSTs on asyncio: keep-alive connections, TLS, proxies from the
environment, chunked and length-delimited bodies, delivered block by block as the socket gives them.

It exists for the load generator (backends/sse_client.py): at thousands of streamed answers a second the
HTTP libraries' per-request and per-chunk work (headers objects, URL objects, a callback per HTTP chunk)
costs several times what the request itself costs, and the generator would report its own limit as the
server's. It does only what a POST to an OpenAI-compatible endpoint needs and nothing else: no redirects,
no cookies, no compression (it asks for `identity`), no HTTP/2.

Errors are raised as `HTTPStreamError(kind)`: `connect` (no connection), `timeout` (nothing received for
`timeout_s`, or the request past its total `deadline_s`), `closed` (the peer closed before the response's end),
`protocol` (a reply that is not strict HTTP/1.1, or one past a size cap). A pooled connection the server closed
while idle is retried once, on a new connection, when nothing of the response had arrived — what every HTTP
client does; any other failure is left to the caller.

The server is not trusted: every part of a reply the client holds before handing it on has a cap (the head,
a chunk-size line, the trailers), numbers are parsed strictly (ASCII digits only, no sign, no `0x`, no `_`),
the CRLF after each chunk's data is checked, and a connection with bytes left over after a response's end is
closed instead of pooled — those bytes would otherwise be read as the next request's answer.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from harness.backends.proxy_env import proxy_for
from harness.config.redact import redact_url

READ_SIZE = 1 << 16
HEAD_LIMIT = READ_SIZE * 4  # the response head (status line and headers)
CHUNK_LINE_LIMIT = 4096  # a chunk-size line, extensions included
TRAILERS_LIMIT = 16 * 1024
HEX_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
DECIMAL = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() takes "²" and "٥", which int() refuses
DEFAULT_DEADLINE_S = 900.0


class HTTPStreamError(Exception):
    """A request failed below HTTP: `kind` is connect, timeout, closed or protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Response:
    """A response's status line and headers (names lower-cased)."""

    status: int
    headers: dict[str, str]


def tls_context() -> ssl.SSLContext:
    """Certificates from SSL_CERT_FILE when set, else certifi's bundle (as the API SDKs use), else the system's."""
    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)


class _Connection:
    __slots__ = ("reader", "writer", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.reused = reader, writer, False

    def close(self) -> None:
        self.writer.close()


class HTTPClient:
    """POSTs to one origin (scheme, host, port) over a pool of keep-alive connections; one event loop."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(base_url)!r}")
        for name, value in headers.items():
            if not _visible_ascii(name) or not _visible_ascii(value, spaces=True):
                raise ValueError(f"header {name!r}: only visible ASCII characters may be sent (no CR, LF or "
                                 "other control characters)")
        self.tls = url.scheme == "https"
        self.host, self.port = url.hostname, url.port or (443 if self.tls else 80)
        self.prefix = url.path.rstrip("/")
        self.timeout_s, self.deadline_s = timeout_s, deadline_s
        bracketed = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        self._authority = f"{bracketed}:{self.port}"
        host_header = bracketed if url.port is None else self._authority
        self._proxy = proxy_for(url.scheme, self.host)
        self._absolute = f"{url.scheme}://{host_header}" if self._proxy and not self.tls else ""
        lines = [f"host: {host_header}", "accept-encoding: identity", "connection: keep-alive",
                 *(f"{name}: {value}" for name, value in headers.items())]
        if self._proxy and not self.tls and self._proxy.auth:
            lines.append(f"proxy-authorization: Basic {self._proxy.auth}")
        self._head_lines = "\r\n".join(lines).encode("latin-1")
        self._idle: list[_Connection] = []
        self._ssl = tls_context() if self.tls else None

    async def _connect(self) -> _Connection:
        proxy = self._proxy
        host, port = (proxy.host, proxy.port) if proxy else (self.host, self.port)
        writer = None
        try:
            async with asyncio.timeout(self.timeout_s):
                if self.tls and not proxy:
                    reader, writer = await asyncio.open_connection(host, port, ssl=self._ssl, server_hostname=self.host,
                                                                   limit=HEAD_LIMIT)
                    return _Connection(reader, writer)
                reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
                if proxy and self.tls:  # a tunnel through the proxy, then TLS with the origin inside it
                    auth = f"proxy-authorization: Basic {proxy.auth}\r\n" if proxy.auth else ""
                    writer.write(f"CONNECT {self._authority} HTTP/1.1\r\nhost: {self._authority}\r\n"
                                 f"{auth}\r\n".encode("latin-1"))
                    head = await reader.readuntil(b"\r\n\r\n")
                    if head.split(b" ", 2)[1:2] != [b"200"]:
                        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                        raise HTTPStreamError("connect", f"the proxy {host}:{port} refused the tunnel: {status_line}")
                    assert self._ssl is not None, "__init__ makes the TLS context of an https URL"
                    await writer.start_tls(self._ssl, server_hostname=self.host)
                return _Connection(reader, writer)
        except BaseException as exc:
            if writer is not None:
                writer.close()
            if isinstance(exc, HTTPStreamError):
                raise
            if isinstance(exc, TimeoutError):
                raise HTTPStreamError("timeout", f"no connection to {host}:{port} within {self.timeout_s:g} s") \
                    from None
            if isinstance(exc, (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError)):
                raise HTTPStreamError("connect", f"cannot connect to {host}:{port}: {type(exc).__name__}: {exc}") \
                    from None
            raise

    def _pooled(self) -> _Connection | None:
        """An idle connection the server has not visibly closed and sent nothing on since, or None."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and not _buffered(connection.reader):
                return connection
            connection.close()
        return None

    async def post(self, path: str, body: bytes) -> AsyncGenerator[Response | bytes, None]:
        """POST `body` (JSON) to the base URL's path + `path`; yields the `Response` head, then the body's
        bytes block by block as they arrive (chunked framing removed), and ends at the body's end.

        `timeout_s` bounds each wait for the network (connecting, the response head, each block), never the
        time the caller spends between blocks; `deadline_s` bounds the whole request, however steadily bytes
        come (a server sending one byte a second never lets `timeout_s` fire)."""
        request = (f"POST {self._absolute}{self.prefix}{path} HTTP/1.1\r\n".encode("latin-1") + self._head_lines
                   + f"\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode("latin-1")
                   + body)
        loop = asyncio.get_running_loop()
        end_s = loop.time() + self.deadline_s
        for attempt in (1, 2):
            # a retry always goes on a new connection: the others in the pool may have been closed too
            connection = (self._pooled() if attempt == 1 else None) or await self._connect()
            try:
                async with _Deadline(loop, self.timeout_s, end_s) as deadline:
                    connection.writer.write(request)
                    try:
                        head = await connection.reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                        if connection.reused and not getattr(exc, "partial", b"") and attempt == 1:
                            connection.close()  # closed by the server while idle: once more on a new one
                            continue
                        raise HTTPStreamError("closed", "the server closed the connection without a response") \
                            from None
                    response, framing = _parse_head(head)
                    deadline.pause()  # no read timeout while the caller has the data
                    yield response
                    deadline.rearm()
                    leftover = False
                    async for block in _body(connection.reader, framing, deadline):
                        if block is _LEFTOVER:
                            leftover = True
                            continue
                        deadline.pause()
                        yield block
                        deadline.rearm()
            except TimeoutError:
                connection.close()
                if loop.time() >= end_s - 1e-3:
                    raise HTTPStreamError("timeout", f"the request took longer than its deadline of "
                                          f"{self.deadline_s:g} s") from None
                raise HTTPStreamError("timeout", f"nothing received for {self.timeout_s:g} s") from None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                connection.close()
                raise HTTPStreamError("closed", f"the connection was lost: {type(exc).__name__}: {exc}") from None
            except BaseException:  # the caller stopped reading, or a protocol error: the stream's state is unknown
                connection.close()
                raise
            if (response.headers.get("connection", "").lower() == "close" or framing[0] == "eof" or leftover
                    or _buffered(connection.reader)):
                connection.close()  # bytes past the response's end would be read as the next one's answer
            else:
                connection.reused = True
                self._idle.append(connection)
            return

    async def close(self) -> None:
        """Close the idle connections."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def _parse_head(head: bytes) -> tuple[Response, tuple[str, int]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not DECIMAL.fullmatch(parts[1]):
        raise HTTPStreamError("protocol", f"not an HTTP/1.1 response: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Response(int(parts[1]), headers), ("chunked", 0)
    if "content-length" in headers:
        if not DECIMAL.fullmatch(headers["content-length"]):
            raise HTTPStreamError("protocol", f"bad content-length {headers['content-length'][:40]!r}")
        return Response(int(parts[1]), headers), ("length", int(headers["content-length"]))
    return Response(int(parts[1]), headers), ("eof", 0)


def _chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (hex digits, then optional `;extensions`); strict: no sign, no `0x`, no
    `_`, at most 16 digits (int(x, 16) takes all of those)."""
    field = line.split(b";", 1)[0].rstrip(b" \t")
    if not HEX_SIZE.fullmatch(field):
        raise HTTPStreamError("protocol", f"bad chunk size line {line[:40]!r}")
    return int(field, 16)


class _LeftoverMark(bytes):
    """The type of `_LEFTOVER`, so that no block of data can be taken for it."""


_LEFTOVER = _LeftoverMark()  # yielded (by identity) by _body when bytes follow the response's end


async def _body(reader: asyncio.StreamReader, framing: tuple[str, int], deadline: _Deadline) -> AsyncIterator[bytes]:
    """The body's blocks. The caller re-arms `deadline` whenever it asks for the next block; a read that
    gives no block yet (part of a chunk's size line) re-arms it here, so that the timeout is between reads.
    Yields `_LEFTOVER` (the object) last when bytes were received past the body's end."""
    kind, length = framing
    if kind == "length":
        while length > 0:
            block = await reader.read(min(length, READ_SIZE))
            if not block:
                raise HTTPStreamError("closed", "the server closed the connection before the response's end")
            length -= len(block)
            yield block
        return
    if kind == "eof":
        while block := await reader.read(READ_SIZE):
            yield block
        return
    # chunked: `left` bytes of the current chunk's data are still to come; -1 when a size line is due; positions
    # move through the buffer, which is cut once per block (not once per chunk). What is kept between blocks
    # is at most a size line (capped), so each byte is scanned a bounded number of times.
    buffer, left = b"", -1
    while True:
        block = await reader.read(READ_SIZE)
        if not block:
            raise HTTPStreamError("closed", "the server closed the connection in the middle of the response")
        buffer = buffer + block if buffer else block
        out, pos, size_of_buffer, find = [], 0, len(buffer), buffer.find
        while pos < size_of_buffer:
            if left > 0:  # data of the current chunk, possibly only part of it
                piece = buffer[pos:pos + left]
                out.append(piece)
                left -= len(piece)
                pos += len(piece)
                continue
            if left == 0:  # the CRLF after a chunk's data
                if size_of_buffer - pos < 2:
                    break
                if buffer[pos:pos + 2] != b"\r\n":
                    raise HTTPStreamError("protocol", f"no CRLF after a chunk's data: {buffer[pos:pos + 20]!r}")
                pos, left = pos + 2, -1
                continue
            end = find(b"\r\n", pos, pos + CHUNK_LINE_LIMIT)
            if end < 0:
                if size_of_buffer - pos >= CHUNK_LINE_LIMIT:
                    raise HTTPStreamError("protocol", f"a chunk-size line longer than {CHUNK_LINE_LIMIT} bytes")
                break
            size = _chunk_size(buffer[pos:end])
            if size and end + size + 4 <= size_of_buffer:  # the whole chunk is here (the common case)
                if buffer[end + 2 + size:end + size + 4] != b"\r\n":
                    raise HTTPStreamError("protocol", "no CRLF after a chunk's data: "
                                          f"{buffer[end + 2 + size:end + size + 22]!r}")
                out.append(buffer[end + 2:end + 2 + size])
                pos = end + size + 4
                continue
            if size == 0:  # the last chunk: read the trailers up to the blank line, then hand the data on
                rest = buffer[end + 2:]
                while not (rest.startswith(b"\r\n") or b"\r\n\r\n" in rest):
                    if len(rest) > TRAILERS_LIMIT:
                        raise HTTPStreamError("protocol", f"trailers longer than {TRAILERS_LIMIT} bytes")
                    more = await reader.read(READ_SIZE)
                    if not more:
                        raise HTTPStreamError("closed", "the server closed the connection in the trailers")
                    rest += more
                    deadline.rearm()
                if len(rest) > TRAILERS_LIMIT + 4:
                    raise HTTPStreamError("protocol", f"trailers longer than {TRAILERS_LIMIT} bytes")
                if out:
                    yield b"".join(out)
                after = 2 if rest.startswith(b"\r\n") else rest.index(b"\r\n\r\n") + 4
                if len(rest) > after:
                    yield _LEFTOVER
                return
            pos, left = end + 2, size
        buffer = buffer[pos:]
        if out:
            yield b"".join(out) if len(out) > 1 else out[0]
        else:
            deadline.rearm()


class _Deadline:
    """asyncio.timeout for one request: `timeout_s` between reads (paused while the caller holds a block),
    never past the request's absolute end `end_s` (loop time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float, end_s: float) -> None:
        self.loop, self.timeout_s, self.end_s = loop, timeout_s, end_s
        self._timeout = asyncio.timeout_at(self._next())

    def _next(self) -> float:
        return min(self.loop.time() + self.timeout_s, self.end_s)

    async def __aenter__(self) -> Self:
        await self._timeout.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self._timeout.__aexit__(exc_type, exc, traceback)

    def pause(self) -> None:
        self._timeout.reschedule(None)

    def rearm(self) -> None:
        self._timeout.reschedule(self._next())


def _buffered(reader: asyncio.StreamReader) -> int:
    """Bytes received and not yet read. StreamReader has no public way to ask; `_buffer` has been its
    buffer (a bytearray) in every CPython since 3.4."""
    return len(getattr(reader, "_buffer", b""))


def _visible_ascii(text: str, spaces: bool = False) -> bool:
    """Only printable ASCII (and spaces where `spaces`): what a header may carry without injecting another."""
    return all(33 <= ord(c) <= 126 or (spaces and c == " ") for c in text)
