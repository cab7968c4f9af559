"""TTFT through the harness's OpenAI-compatible client versus a raw httpx streaming client, interleaved,
against the same local streaming server (benchmarks/sse_server.py, which answers at once, so the
difference is client overhead).

    .venv/bin/python benchmarks/client_overhead.py [--rounds 300]

Both clients keep one connection open across requests, as the harness does. Prints the median TTFT of
each and the median of per-round differences harness - raw (target < 1 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

from harness.analysis.request_metrics import request_metrics
from harness.backends import Prompt
from harness.backends.openai_api import OpenAIBackend
from harness.config.model_config import OpenAIModel
from harness.execution.request import timed_stream

sys.path.insert(0, str(Path(__file__).parent))
import sse_server  # noqa: E402 - the benchmark server beside this script

MESSAGES = [{"role": "user", "content": "Say something."}]


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

    with sse_server.running() as base_url:
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


if __name__ == "__main__":
    main()
