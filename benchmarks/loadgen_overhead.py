"""The load generator against a minimal raw asyncio client, in one run, on one core each side.

    .venv/bin/python benchmarks/loadgen_overhead.py [--requests 3000] [--concurrency 32] [--chunks 64] [--rounds 5]

A local streaming server (benchmarks/sse_server.py: CHUNKS content events per answer, written at once, no
model) runs pinned to one core; this process, pinned to another, alternates in each round (ABBA order):
  raw      a minimal client carried below: asyncio streams, one keep-alive connection per worker, a
           prebuilt request head, chunked framing and SSE events split by hand, orjson per event, every
           block stamped on receipt; no retries, no error classification, no records;
  harness  the harness's own load path: `run_level` driving `execute_async` over the OpenAI backend's
           asyncio stream (backends/sse_client.py), with a full record per request.
Printed per round and as medians: requests/s, content chunks/s, client CPU per request, and the ratio of
the harness's requests/s to the raw client's (target >= 0.5). Then, one request at a time, the TTFT each
client sees and the median of per-pair differences harness - raw: the TTFT the harness adds (target
<= 0.25 ms).

With `--sdk` a third side runs in the same rounds: the same load path over the OpenAI SDK's async client
(`AsyncOpenAI.post` with plain-dict chunks), the client the load generator used before its own.

With `--paced` it runs the paced check instead: a server that writes 64 content events 20 ms apart (each its
own write, like an engine's ticks), 256 and 512 streams at once from one client core; per stream count the
harness's load path and the raw client in ABBA rounds, printing ITL p50/p99 (per request), TTFT p50, and
whether the harness's self-watch (event-loop lag, client CPU share, coalesced chunks) flagged the level.

With `--scaling 1,2,4` it then runs the level through `--client-processes`' own path (run/clients.py:
the level split between N client processes, records merged back here) for each N, unpinned, and prints
requests/s and the summed client CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from harness.backends import Prompt
from harness.backends.openai_api import OpenAIBackend
from harness.config.model_config import OpenAIModel
from harness.execution.loadgen import Level, run_level
from harness.execution.request import execute_async
from harness.execution.retry import RetryPolicy

sys.path.insert(0, str(Path(__file__).parent))
import sse_server  # noqa: E402 - the benchmark server beside this script

MESSAGES = [{"role": "user", "content": "Say something."}]


class RawClient:
    """One keep-alive connection; `request()` streams one answer and returns (TTFT ns, content events)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path + "/chat/completions"
        self.reader = self.writer = None
        self.stamps: list[int] | None = None  # receipt stamps of content events, when a caller wants them

    async def request(self) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = orjson.dumps({"model": "bench", "messages": MESSAGES, "max_tokens": 16, "stream": True,
                             "stream_options": {"include_usage": True}})
        t0 = time.perf_counter_ns()
        self.writer.write(f"POST {self.path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
                          f"authorization: Bearer x\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body)
        await self.reader.readuntil(b"\r\n\r\n")  # status line and headers
        ttft_ns, events, pending, framed = 0, 0, b"", b""
        while not framed.endswith(b"0\r\n\r\n"):
            block = await self.reader.read(65536)
            t = time.perf_counter_ns()
            framed += block
            pending += block
            *complete, pending = pending.split(b"\n\n")
            for raw in complete:
                start = raw.find(b"data: ")
                if start < 0 or raw.endswith(b"[DONE]"):
                    continue
                event = orjson.loads(raw[start + 6:])
                if event["choices"] and event["choices"][0]["delta"].get("content"):
                    events += 1
                    ttft_ns = ttft_ns or t - t0
                    if self.stamps is not None:
                        self.stamps.append(t - t0)
            framed = framed[-5:]
        return ttft_ns, events


def raw_level(base_url: str, n: int, concurrency: int, loop: asyncio.AbstractEventLoop) -> tuple[float, int]:
    """Wall seconds and content events for `n` requests at `concurrency` through the raw client."""
    async def run() -> int:
        jobs = iter(range(n))
        totals = [0] * concurrency

        async def worker(index: int) -> None:
            client = RawClient(base_url)
            for _ in jobs:
                totals[index] += (await client.request())[1]
            client.writer.close()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return sum(totals)
    t0 = time.perf_counter()
    events = loop.run_until_complete(run())
    return time.perf_counter() - t0, events


def harness_level(backend: OpenAIBackend, n: int, concurrency: int,
                  loop: asyncio.AbstractEventLoop) -> tuple[float, int]:
    prompt = Prompt(style="chat", max_tokens=16, messages=MESSAGES)
    policy = RetryPolicy(max_attempts=1)

    async def send(job: int) -> dict:
        return await execute_async(backend, prompt, policy)
    stats: dict = {}
    records = list(run_level(Level(f"concurrent:{concurrency}", concurrency=concurrency), list(range(n)), send, loop,
                             lambda: False, stats))
    failed = [r["error"] for r in records if r["error"] is not None]
    assert not failed, failed[:3]
    return stats["wall_s"], sum(len(r["chunk_offsets_ns"]) for r in records)


class SDKBackend(OpenAIBackend):
    """The OpenAI backend with its load path on the SDK's async client, for comparison."""

    def load(self) -> dict:
        import openai

        info = super().load()
        self._sdk = openai.AsyncOpenAI(base_url=self._endpoint.base_url, api_key=self._key, max_retries=0,
                                       timeout=self.config.timeout_s)
        return info

    async def astream_blocks(self, prompt: Prompt):
        import openai

        from harness.backends.openai_api import _Chunks

        state = _Chunks(prompt.style == "chat")
        path, params = self._params(prompt)
        stream = await self._sdk.post(path, body=params, cast_to=object, stream=True,
                                      stream_cls=openai.AsyncStream[object])
        async for chunk in stream:
            texts = state.feed([chunk])
            if texts:
                yield texts
        yield [self._finish(state, prompt)]

    async def aclose(self) -> None:
        await self._sdk.close()


def _latencies_ms(offsets: list[list[int]]) -> tuple[list[float], list[float]]:
    """TTFT and per-request ITL ((t_last - t_first) / (n - 1)) in ms from each request's chunk offsets."""
    ttft = [o[0] / 1e6 for o in offsets if o]
    itl = [(o[-1] - o[0]) / 1e6 / (len(o) - 1) for o in offsets if len(o) > 1]
    return ttft, itl


def paced(args: argparse.Namespace) -> None:
    """The paced check: a server writing 64 content events 20 ms apart (each its own write), S streams at once
    from one client core; harness and the raw client in ABBA order; ITL p50/p99, TTFT p50, and whether the
    harness flagged its level (analysis.levels.client_watch)."""
    import pandas as pd

    from harness.analysis.load_levels import client_watch

    cores = sorted(os.sched_getaffinity(0))
    print(f"paced server: {args.chunks} content events {args.interval_ms:g} ms apart, core {cores[-1]}; client core "
          f"{cores[0]}; {args.rounds} rounds per stream count, ABBA order; ITL per request")
    for streams in [int(v) for v in args.streams.split(",")]:
        with sse_server.running(args.chunks, delay_s=args.interval_ms / 1000, cpu=cores[-1]) as base_url:
            os.sched_setaffinity(0, {cores[0]})
            loop = asyncio.new_event_loop()
            backend = OpenAIBackend(OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench"))
            backend.load()
            clients = [RawClient(base_url) for _ in range(streams)]
            policy, prompt = RetryPolicy(max_attempts=1), Prompt(style="chat", max_tokens=16, messages=MESSAGES)

            def raw() -> dict:
                for client in clients:
                    client.stamps = []

                async def run() -> None:
                    await asyncio.gather(*(client.request() for client in clients))
                loop.run_until_complete(run())
                return {"offsets": [client.stamps for client in clients], "flag": None}

            def harness() -> dict:
                stats: dict = {}

                async def send(job: int) -> dict:
                    return await execute_async(backend, prompt, policy)
                records = list(run_level(Level(f"concurrent:{streams}", concurrency=streams), list(range(streams)),
                                         send, loop, lambda: False, stats))
                offsets = [r["chunk_offsets_ns"] for r in records if r["error"] is None]
                frame = pd.DataFrame({"chunk_gaps": [max(len(o) - 1, 0) for o in offsets],
                                      "chunks_coalesced": [sum(a == b for a, b in pairwise(o)) for o in offsets]})
                return {"offsets": offsets, "flag": client_watch(frame, {**stats, "client_processes": 1},
                                                                 stats["wall_s"]),
                        "failed": len(records) - len(offsets)}

            sides = {"raw": raw, "harness": harness}
            for side in sides.values():  # warm-up: every connection opened once
                side()
            seen: dict[str, list[dict]] = {"raw": [], "harness": []}
            for round_index in range(args.rounds):
                order = ("harness", "raw", "raw", "harness") if round_index % 2 == 0 else ("raw", "harness", "harness", "raw")
                for name in order:
                    seen[name].append(sides[name]())
            print(f"{streams} streams:")
            for name, results in seen.items():
                ttft, itl = _latencies_ms([o for r in results for o in r["offsets"]])
                line = (f"  {name:8s} ITL p50 {statistics.median(itl):6.2f} ms, p99 {statistics.quantiles(itl, n=100)[-1]:6.2f}"
                        f" ms; TTFT p50 {statistics.median(ttft):6.2f} ms")
                if name == "harness":
                    flags = [r["flag"] for r in results]
                    flagged = sum(f["client_flag"] is not None for f in flags)
                    line += (f"; flagged in {flagged}/{len(flags)} runs; loop lag p99 "
                             f"{statistics.median(f['loop_lag_p99_ms'] or 0 for f in flags):.1f} ms, client CPU "
                             f"{statistics.median(f['client_cpu_share'] or 0 for f in flags):.0%}, coalesced "
                             f"{statistics.median(f['coalesced_share'] or 0 for f in flags):.0%} (medians)")
                    reasons = {f["client_flag"] for f in flags if f["client_flag"]}
                    line += "".join(f"\n    {reason}" for reason in sorted(reasons)[:2])
                print(line, flush=True)
            for client in clients:
                if client.writer is not None:
                    client.writer.close()
            loop.run_until_complete(backend.aclose())
            loop.close()
            os.sched_setaffinity(0, set(cores))


def cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ttft-pairs", type=int, default=500)
    parser.add_argument("--scaling", default="", help="client process counts to measure, e.g. 1,2")
    parser.add_argument("--sdk", action="store_true", help="also run the load path over the OpenAI SDK's client")
    parser.add_argument("--paced", action="store_true", help="the paced check instead: --streams at once, "
                        "--chunks events --interval-ms apart (default 64 at 20 ms)")
    parser.add_argument("--streams", default="256,512", help="with --paced: concurrent streams, comma-separated")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="with --paced: ms between a stream's events")
    args = parser.parse_args()
    if args.paced:
        paced(args)
        return
    cores = sorted(os.sched_getaffinity(0))
    with sse_server.running(args.chunks, cpu=cores[-1]) as base_url:
        os.sched_setaffinity(0, {cores[0]})  # the client: one core, the server another
        backend = OpenAIBackend(OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench"))
        backend.load()
        loop = asyncio.new_event_loop()
        sides = {"raw": lambda n: raw_level(base_url, n, args.concurrency, loop),
                 "harness": lambda n: harness_level(backend, n, args.concurrency, loop)}
        if args.sdk:
            sdk = SDKBackend(OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench"))
            sdk.load()
            sides["sdk"] = lambda n: harness_level(sdk, n, args.concurrency, loop)
        for side in sides.values():  # warm-up: connections, caches
            side(200)
        print(f"{args.requests} requests per run at concurrency {args.concurrency}, {args.chunks} content chunks per "
              f"answer; server on core {cores[-1]}, client on core {cores[0]}; {args.rounds} rounds, ABBA order")
        names = list(sides)
        per_side: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        ratios = []
        for round_index in range(args.rounds):
            forward = names if round_index % 2 == 0 else names[::-1]
            order = forward + forward[::-1]  # ABBA (ABCCBA with --sdk), reversed in odd rounds
            seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
            for name in order:
                cpu0 = cpu_s()
                wall_s, chunks = sides[name](args.requests)
                cpu_ms = (cpu_s() - cpu0) * 1000 / args.requests
                seen[name].append((args.requests / wall_s, chunks / wall_s, cpu_ms))
            means = {name: tuple(statistics.fmean(v[i] for v in values) for i in range(3))
                     for name, values in seen.items()}
            ratios.append(means["harness"][0] / means["raw"][0])
            for name in per_side:
                per_side[name].append(means[name])
            print(f"  round {round_index + 1}: " + "; ".join(
                f"{name} {m[0]:6.0f} req/s {m[1]:8.0f} chunks/s {m[2]:.2f} ms CPU/req" for name, m in means.items())
                + f"; ratio {ratios[-1]:.3f}", flush=True)
        for name, values in per_side.items():
            print(f"{name:8s} median {statistics.median(v[0] for v in values):6.0f} req/s, "
                  f"{statistics.median(v[1] for v in values):8.0f} chunks/s, "
                  f"{statistics.median(v[2] for v in values):.3f} ms client CPU per request")
        print(f"ratio harness/raw requests/s: {statistics.median(ratios):.3f} (median of {len(ratios)} rounds; "
              f"min {min(ratios):.3f}, max {max(ratios):.3f}; target >= 0.5)")
        if args.sdk:
            sdk_ratio = (statistics.median(v[0] for v in per_side["sdk"])
                         / statistics.median(v[0] for v in per_side["raw"]))
            print(f"ratio sdk/raw requests/s (medians): {sdk_ratio:.3f}")

        # TTFT, one request at a time, pairs in alternating order
        raw_client, prompt, policy = RawClient(base_url), Prompt(style="chat", max_tokens=16, messages=MESSAGES), \
            RetryPolicy(max_attempts=1)
        backends = {"harness": backend, **({"sdk": sdk} if args.sdk else {})}
        ttft_ms: dict[str, list[float]] = {name: [] for name in names}
        for index in range(args.ttft_pairs):
            for name in (names if index % 2 == 0 else names[::-1]):
                if name == "raw":
                    ttft_ms[name].append(loop.run_until_complete(raw_client.request())[0] / 1e6)
                else:
                    record = loop.run_until_complete(execute_async(backends[name], prompt, policy))
                    ttft_ms[name].append(record["chunk_offsets_ns"][0] / 1e6)
        raw_client.writer.close()
        print(f"TTFT one at a time ({args.ttft_pairs} rounds): raw median {statistics.median(ttft_ms['raw']):.3f} ms")
        for name in backends:
            diffs_ms = [t - r for t, r in zip(ttft_ms[name], ttft_ms["raw"])]
            print(f"  {name}: median {statistics.median(ttft_ms[name]):.3f} ms; added: median "
                  f"{statistics.median(diffs_ms):.3f} ms (p90 {statistics.quantiles(diffs_ms, n=10)[-1]:.3f}"
                  + ("; target <= 0.25)" if name == "harness" else ")"))
            loop.run_until_complete(backends[name].aclose())
        loop.close()
        if args.scaling:
            os.sched_setaffinity(0, set(cores))
            scaling(base_url, args, [int(n) for n in args.scaling.split(",")])


def scaling(base_url: str, args: argparse.Namespace, counts: list[int]) -> None:
    """Requests/s of one level split between N client processes (the `--client-processes` path)."""
    from harness.execution.client_processes import ProcessClients, split_level

    cfg = OpenAIModel(name="bench", kind="openai", base_url=base_url, model="bench")
    items = [(i, Prompt(style="chat", max_tokens=16, messages=MESSAGES)) for i in range(args.requests)]
    level = Level(f"concurrent:{args.concurrency}", concurrency=args.concurrency)
    print(f"client processes (unpinned; the server still on its core): {args.requests} requests at concurrency "
          f"{args.concurrency}")
    for n in counts:
        clients = ProcessClients(cfg, 1, n)
        try:
            list(clients.run(split_level(level, items[:200], n), lambda: False, {}))  # warm-up
            runs = []
            for _ in range(args.rounds):
                stats: dict = {}
                got = list(clients.run(split_level(level, items, n), lambda: False, stats))
                assert len(got) == args.requests and not [r for r in got if r["error"]], "failed requests"
                runs.append((args.requests / stats["wall_s"], stats["client_cpu_s"] * 1000 / args.requests))
        finally:
            clients.close()
        print(f"  {n} process(es): median {statistics.median(r[0] for r in runs):6.0f} req/s, "
              f"{statistics.median(r[1] for r in runs):.3f} ms client CPU per request ({args.rounds} runs)")


if __name__ == "__main__":
    main()
