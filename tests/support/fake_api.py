"""A local HTTP server the tests control, for API states a real server will not produce on demand:
429 with Retry-After, 500, a stall, a connection dropped mid-stream, a stream that ends cleanly before its
finish reason, a malformed SSE line, an error body echoing the request's key, a decode pace. It speaks just enough of the OpenAI Chat Completions and Anthropic Messages
streaming protocols (the documented event sequences) for the official SDKs.

Each POST takes the next behaviour from `script`; when the script is exhausted, requests succeed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = ["The", " answer", " is", " 42", "."]


def _sse(data: dict | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {event}\n" if event else "") + f"data: {payload}\n\n").encode()


def openai_events(model: str, usage: dict | None, answer: list[str] = ANSWER,
                  reasoning: list[str] = ()) -> list[bytes]:
    """Chat Completions chunks for `reasoning` (as `reasoning_content` deltas) and `answer`, then (optionally) a
    usage chunk, then [DONE]."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    events = [_sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})]
    events += [_sse({**base, "choices": [{"index": 0, "delta": {"reasoning_content": piece}, "finish_reason": None}]})
               for piece in reasoning]
    events += [_sse({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
               for piece in answer]
    events.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if usage is not None:
        events.append(_sse({**base, "choices": [], "usage": usage}))
    events.append(_sse("[DONE]"))
    return events


def anthropic_events(model: str, usage: dict, thinking: list[str] = ()) -> list[bytes]:
    """The documented Messages stream: message_start ... message_stop, usage split as Anthropic sends it; with
    `thinking`, a thinking block (thinking_delta events) before the text block."""
    start_usage = {k: usage[k] for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")}
    events = [
        _sse({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None, "usage": {**start_usage, "output_tokens": 1}}},
            "message_start"),
        _sse({"type": "ping"}, "ping"),
    ]
    text_index = 1 if thinking else 0
    if thinking:
        events.append(_sse({"type": "content_block_start", "index": 0,
                            "content_block": {"type": "thinking", "thinking": ""}}, "content_block_start"))
        events += [_sse({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "thinking_delta", "thinking": piece}}, "content_block_delta")
                   for piece in thinking]
        events.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    events.append(_sse({"type": "content_block_start", "index": text_index,
                        "content_block": {"type": "text", "text": ""}}, "content_block_start"))
    events += [_sse({"type": "content_block_delta", "index": text_index,
                     "delta": {"type": "text_delta", "text": piece}}, "content_block_delta") for piece in ANSWER]
    events += [
        _sse({"type": "content_block_stop", "index": text_index}, "content_block_stop"),
        _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
              "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return events


class FakeAPI:
    """Serves scripted behaviours on 127.0.0.1; `requests` keeps what each POST carried."""

    def __init__(self, script: list[dict] | None = None, usage: dict | None = None, delay_s: float = 0.0,
                 answer: list[str] = ANSWER, port: int = 0, require_key: str | None = None,
                 chunk_gap_s: float = 0.0, reasoning: list[str] = (), event_gap_s: float = 0.0,
                 slots: int | None = None) -> None:
        self.script = list(script or [])
        # at most `slots` requests served at once, the others wait their turn (an engine with a capacity:
        # slots / delay_s requests a second); None: every request at once
        self._slots = threading.BoundedSemaphore(slots) if slots else None
        self.answer = answer
        self.reasoning = list(reasoning)  # reasoning_content deltas (OpenAI) or thinking deltas (Anthropic)
        self.event_gap_s = event_gap_s  # between stream events: spaced chunks, as a generating server sends
        self.usage = usage
        self.delay_s = delay_s  # before every response: lets requests overlap
        self.require_key = require_key  # when set, a request without this bearer key gets 401, as servers do
        self.chunk_gap_s = chunk_gap_s  # between content chunks (OpenAI streams): a decode pace the test sets
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def setup(self) -> None:  # no Nagle delay on small SSE writes, as real servers do
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _refused(self) -> bool:
                if fake.require_key is None or self.headers.get("authorization") == f"Bearer {fake.require_key}":
                    return False
                self.rfile.read(int(self.headers.get("content-length", 0)))
                fake._respond(self, {"do": "status", "status": 401,
                                     "body": {"error": {"message": "invalid api key", "type": "auth"}}}, {})
                return True

            def do_GET(self) -> None:  # noqa: N802 - /v1/models for readiness, /metrics like vLLM's
                if self._refused():
                    return
                with fake._lock:
                    served = len(fake.requests)
                if self.path.endswith("/metrics"):
                    body = (f"# TYPE fake_requests_total counter\nfake_requests_total {served}\n"
                            f"fake_tokens_total{{kind=\"output\"}} {served * 5}\n").encode()
                    kind = "text/plain"
                else:
                    body, kind = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}', "application/json"
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                if self._refused():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                          "at": time.monotonic()})
                    behaviour = fake.script.pop(0) if fake.script else {"do": "ok"}
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    if fake._slots is not None:
                        with fake._slots:
                            time.sleep(fake.delay_s)
                            fake._respond(self, behaviour, body)
                    else:
                        time.sleep(fake.delay_s)
                        fake._respond(self, behaviour, body)
                except OSError:  # the client gave up (timeout) or the test dropped the connection
                    self.close_connection = True
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _respond(self, handler: BaseHTTPRequestHandler, behaviour: dict, body: dict) -> None:
        do = behaviour["do"]
        if do == "status":
            payload = json.dumps(behaviour.get("body", {"error": {"message": "scripted", "type": "error"}})).encode()
            handler.send_response(behaviour["status"])
            for key, value in behaviour.get("headers", {}).items():
                handler.send_header(key, value)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        if do == "json":  # a server that ignores stream: true and sends the whole reply at once
            payload = {"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model", "m"),
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "".join(self.answer)}}],
                       "usage": self.usage}
            self._respond(handler, {"do": "status", "status": 200, "body": payload}, body)
            return
        if do == "echo_key":  # an error body that repeats the request's credentials back
            auth = handler.headers.get("authorization") or handler.headers.get("x-api-key") or ""
            self._respond(handler, {"do": "status", "status": 401,
                                    "body": {"error": {"message": f"invalid key {auth}", "type": "auth"}}}, body)
            return
        anthropic = handler.path.endswith("/messages")
        if anthropic:
            events = anthropic_events(body.get("model", "m"), self.usage, self.reasoning)
        else:
            events = openai_events(body.get("model", "m"), self.usage, self.answer, self.reasoning)
        if do == "malformed":
            events = events[:2] + [b"data: {\"choices\": [{\"delta\": {\"content\": \"oops\n\n"] + events[2:]
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")  # as real servers stream
        handler.end_headers()
        if do == "early_end":  # a clean end of the stream after the content, without a finish_reason
            time.sleep(behaviour.get("seconds", 0.0))
            events = events[: 1 + len(self.answer)]
        for index, event in enumerate(events):
            if do == "drop" and index == 3:
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)  # the peer vanishes mid-stream
                handler.close_connection = True
                return
            if do == "stall" and index == 2:
                time.sleep(behaviour.get("seconds", 3.0))
            if self.chunk_gap_s and not anthropic and 2 <= index <= len(self.answer):
                time.sleep(self.chunk_gap_s)
            if self.event_gap_s and index:
                time.sleep(self.event_gap_s)
            handler.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


def main() -> None:
    """Serve until killed, as a server the harness launches (`launch: command:` in models.yaml):
    `python -m tests.support.fake_api PORT [--delay-s S] [--slots N] [--event-gap-s S]`."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--delay-s", type=float, default=0.0)
    parser.add_argument("--slots", type=int, default=None)
    parser.add_argument("--event-gap-s", type=float, default=0.0)
    args = parser.parse_args()
    usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    with FakeAPI(usage=usage, delay_s=args.delay_s, port=args.port, slots=args.slots, event_gap_s=args.event_gap_s):
        threading.Event().wait()


if __name__ == "__main__":
    main()
