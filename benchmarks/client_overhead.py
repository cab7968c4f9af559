"""TTFT through the harness's OpenAI-compatible client versus a raw httpx streaming client, interleaved,
against the same local streaming server (benchmarks/sse_server.py, which answers at once, so the
difference is client overhead).

    .venv/bin/python benchmarks/client_overhead.py [--rounds 300]

Both clients keep one connection open across requests, as the harness does. Prints the median TTFT of
each and the median of per-round differences harness - raw (target < 1 ms).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harness.backends import Prompt
from harness.backends.openai_api import OpenAIBackend
from harness.config import OpenAIModel
from harness.metrics import request_metrics
from harness.request import timed_stream

MESSAGES = [{"role": "user", "content": "Say something."}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_ttft_s(client: httpx.Client, url: str) -> float:
    body = {"model": "bench", "messages": MESSAGES, "max_tokens": 16, "stream": True,
            "stream_options": {"include_usage": True}, "temperature": 0.0}
    t0 = time.perf_counter_ns()
    first = None
    with client.stream("POST", url, json=body, headers={"authorization": "Bearer not-needed"}) as response:
        for line in response.iter_lines():
            if first is None and line.startswith("data: ") and '"content"' in line:
                first = time.perf_counter_ns()
    return (first - t0) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sse_server.py")), str(port)])
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/models", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        backend = OpenAIBackend(OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench"))
        backend.load()
        prompt = Prompt(style="chat", max_tokens=16, messages=MESSAGES)
        raw_client = httpx.Client(timeout=10)
        url = f"{base_url}/chat/completions"
        for _ in range(20):  # warm up both connections
            timed_stream(backend, prompt)
            raw_ttft_s(raw_client, url)
        harness_s, raw_s = [], []
        for index in range(args.rounds):
            if index % 2:
                raw_s.append(raw_ttft_s(raw_client, url))
                harness_s.append(request_metrics(timed_stream(backend, prompt))["ttft_s"])
            else:
                harness_s.append(request_metrics(timed_stream(backend, prompt))["ttft_s"])
                raw_s.append(raw_ttft_s(raw_client, url))
        diffs_ms = [(h - r) * 1000 for h, r in zip(harness_s, raw_s)]
        print(f"{args.rounds} interleaved rounds against {base_url} (openai SDK vs raw httpx)")
        print(f"  harness TTFT  median {statistics.median(harness_s) * 1000:.3f} ms")
        print(f"  raw httpx     median {statistics.median(raw_s) * 1000:.3f} ms")
        print(f"difference harness - raw: median {statistics.median(diffs_ms):.3f} ms "
              f"(p90 {statistics.quantiles(diffs_ms, n=10)[-1]:.3f} ms)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
