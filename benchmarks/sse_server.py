"""A minimal OpenAI-compatible streaming server for client-side benchmarks: answers every Chat
Completions request with N content chunks (no model), so what a benchmark measures is the client.

It is a bare asyncio protocol (HTTP/1.1 keep-alive, chunked transfer), so that one core serves several
thousand streamed requests a second: the server must not be what limits a client benchmark. With no
delay the whole answer is written at once (one write per request); with CHUNK_DELAY_S each event is
written after that sleep.

    python benchmarks/sse_server.py PORT [N_CHUNKS] [CHUNK_DELAY_S]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

MODELS_BODY = b'{"object": "list", "data": [{"id": "bench", "object": "model"}]}'


def sse_events(n_chunks: int) -> list[bytes]:
    """The answer's server-sent events, each as one HTTP chunk: N content deltas, the finish, the usage."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
    pieces = [json.dumps({**head, "choices": [{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}]})
              for i in range(n_chunks)]
    pieces.append(json.dumps({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    pieces.append(json.dumps({**head, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": n_chunks,
                                                                "total_tokens": 10 + n_chunks}}))
    events = [f"data: {p}\n\n".encode() for p in pieces] + [b"data: [DONE]\n\n"]
    return [f"{len(event):x}\r\n".encode() + event + b"\r\n" for event in events]


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
               b"connection: keep-alive\r\n\r\n")
MODELS_REPLY = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(MODELS_BODY)).encode() + b"\r\n\r\n" + MODELS_BODY)


class Server(asyncio.Protocol):
    """One connection: parses requests as they come (pipelining-safe) and answers each in order."""

    def __init__(self, events: list[bytes], delay_s: float) -> None:
        self.events, self.delay_s = events, delay_s
        self.whole = STREAM_HEAD + b"".join(events) + b"0\r\n\r\n"
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still coming
            self.buffer = self.buffer[end + 4 + length:]
            if head.startswith("GET"):
                self.transport.write(MODELS_REPLY)
            elif self.delay_s:
                asyncio.ensure_future(self._slowly())
            else:
                self.transport.write(self.whole)

    async def _slowly(self) -> None:
        self.transport.write(STREAM_HEAD)
        for event in self.events:
            await asyncio.sleep(self.delay_s)
            self.transport.write(event)
        self.transport.write(b"0\r\n\r\n")


@contextlib.contextmanager
def running(n_chunks: int = 16, delay_s: float = 0.0, cpu: int | None = None) -> Iterator[str]:
    """This server in a subprocess on a free port (pinned to core `cpu` if given), ready; yields its base URL
    (…/v1)."""
    port = _free_port()
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    server = subprocess.Popen([sys.executable, str(Path(__file__)), str(port), str(n_chunks), str(delay_s)],
                              preexec_fn=pin)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.05)
        yield base_url
    finally:
        server.terminate()
        server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    port = int(sys.argv[1])
    n_chunks = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    delay_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    events = sse_events(n_chunks)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: Server(events, delay_s), "127.0.0.1", port,
                                                                backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
