"""A minimal OpenAI-compatible streaming server for client-side benchmarks: answers every Chat
Completions request at once with N content chunks (no model), so what a benchmark measures is the client.

    python benchmarks/sse_server.py PORT [N_CHUNKS] [CHUNK_DELAY_S]
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(n_chunks: int, delay_s: float):
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
    pieces = [json.dumps({**head, "choices": [{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}]})
              for i in range(n_chunks)]
    pieces.append(json.dumps({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    pieces.append(json.dumps({**head, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": n_chunks,
                                                                "total_tokens": 10 + n_chunks}}))
    events = [f"data: {p}\n\n".encode() for p in pieces] + [b"data: [DONE]\n\n"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def setup(self) -> None:  # no Nagle delay on small SSE writes, as real servers do
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 - /v1/models, for readiness checks
            body = b'{"object": "list", "data": [{"id": "bench", "object": "model"}]}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for event in events:
                    if delay_s:
                        time.sleep(delay_s)
                    self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:  # the client stopped reading early
                self.close_connection = True

    return Handler


@contextlib.contextmanager
def running(n_chunks: int = 16) -> Iterator[str]:
    """This server in a subprocess on a free port, ready; yields its base URL (…/v1)."""
    import httpx

    from harness.run.serve import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__)), str(port), str(n_chunks)])
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/models", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    port = int(sys.argv[1])
    n_chunks = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    delay_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(n_chunks, delay_s))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
