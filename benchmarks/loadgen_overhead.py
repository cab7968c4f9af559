"""How many requests per second the load generator sustains, and its CPU per request, against a minimal
local streaming server (benchmarks/sse_server.py: 16 content chunks per answer, no model).

    .venv/bin/python benchmarks/loadgen_overhead.py [--requests 2000] [--concurrency 32]

Runs the harness's own path — `loadgen.run_level` driving `request.execute_async` over the OpenAI
backend's asyncio client, with every chunk stamped — and prints requests/s, chunks/s and the client's CPU
time per request. The server runs in another process; on a 2-core machine the two compete for CPU, so
the figure is a floor for the generator alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from harness.backends import Prompt
from harness.backends.openai_api import OpenAIBackend
from harness.config.models import OpenAIModel
from harness.run.loadgen import Level, run_level
from harness.run.request import execute_async
from harness.run.retry import RetryPolicy

sys.path.insert(0, str(Path(__file__).parent))
import sse_server  # noqa: E402 - the benchmark server beside this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with sse_server.running() as base_url:
        backend = OpenAIBackend(OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench"))
        backend.load()
        prompt = Prompt(style="chat", max_tokens=16, messages=[{"role": "user", "content": "Say something."}])
        policy = RetryPolicy(max_attempts=1)

        async def send(job: int) -> dict:
            return await execute_async(backend, prompt, policy)

        loop = asyncio.new_event_loop()
        list(run_level(Level("warm-up", concurrency=8), list(range(100)), send, loop, lambda: False, {}))
        stats: dict = {}
        cpu0 = os.times()
        records = list(run_level(Level(f"concurrent:{args.concurrency}", concurrency=args.concurrency),
                                 list(range(args.requests)), send, loop, lambda: False, stats))
        cpu1 = os.times()
        loop.run_until_complete(backend.aclose())
        loop.close()
        failed = sum(r["error"] is not None for r in records)
        chunks = sum(len(r["chunk_offsets_ns"]) for r in records)
        client_cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        print(f"{args.requests} requests at concurrency {args.concurrency} against a local streaming server "
              f"({failed} failed)")
        print(f"  {args.requests / stats['wall_s']:.0f} requests/s, {chunks / stats['wall_s']:.0f} chunks/s stamped; "
              f"client CPU {client_cpu_s * 1000 / args.requests:.2f} ms per request "
              f"({client_cpu_s / stats['wall_s']:.0%} of one core)")


if __name__ == "__main__":
    main()
