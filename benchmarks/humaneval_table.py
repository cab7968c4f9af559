"""HumanEval on the two embedded models, through the real `harness run`: a markdown table of pass@1 (with its
95% bootstrap interval over problems), $ per correct task, J per task and wall time, as in the README.

    .venv/bin/python benchmarks/humaneval_table.py                 # all 164 problems, one model after the other
    .venv/bin/python benchmarks/humaneval_table.py --limit 10      # a quick look
    .venv/bin/python benchmarks/humaneval_table.py --threads 1 --parallel --out runs   # on a shared machine
    .venv/bin/python benchmarks/humaneval_table.py --runs runs/A runs/B  # the table of runs already made

Each model runs in its own `harness run --suite humaneval` (greedy; the suite's prompts, stops and
max_tokens): SmolLM2 as a chat model (it answers with a fenced function), Gemma 3 270M as a base model (it
continues the prompt and stops at HumanEval's stop sequences). `--threads N` sets llama.cpp's threads in a
copy of ./models.yaml: on a machine shared with other jobs, llama.cpp's spinning worker threads slow each
other down (measured here under a load of ~17 on 2 cores: 48 tokens took 18 s with 1 thread, 305 s with 2).

The table covers the problems that every run finished (all of them, unless runs were stopped early; the
heading says how many). Wall time is from the first request's start to the last one's end over those
problems (model load excluded); J and $ are per task from the records (the CPU estimate where no power
meter can be read; $ = that energy and the hardware's share of the wall time, README: Energy).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from harness.analysis.model_summary import summarize
from harness.analysis.request_metrics import request_metrics
from harness.store.manifest import read_manifest
from harness.store.records import read_records

REPO = Path(__file__).resolve().parent.parent
MODELS = ("smollm2-135m-q4_1", "gemma3-270m-q4_k_m")
N_PROBLEMS = 164


def models_file(folder: Path, threads: int | None) -> Path:
    """./models.yaml, or a copy with llama.cpp's thread count set."""
    if threads is None:
        return REPO / "models.yaml"
    config = yaml.safe_load((REPO / "models.yaml").read_text())
    for entry in config["models"]:
        if entry.get("kind") == "llama_cpp":
            entry["n_threads"] = threads
    path = folder / "models.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_models(names: list[str], models: Path, out: Path, limit: int | None, parallel: bool) -> list[Path]:
    """One `harness run` per model (at once with `parallel`); their run folders, in the order of `names`."""
    out.mkdir(parents=True, exist_ok=True)
    folders = []
    for name in names:
        folder = out / name
        folder.mkdir(exist_ok=True)
        folders.append(folder)
    commands = [[sys.executable, "-m", "harness", "run", "--models", str(models), "--suite", "humaneval",
                 "--only", name, "--out", str(folder), "--no-report", *(["--limit", str(limit)] if limit else [])]
                for name, folder in zip(names, folders)]
    if parallel:
        procs = [subprocess.Popen(command, cwd=REPO) for command in commands]
        codes = [proc.wait() for proc in procs]
    else:
        codes = [subprocess.run(command, cwd=REPO, check=False).returncode for command in commands]
    for name, code in zip(names, codes):
        if code not in (0, 1):
            raise SystemExit(f"harness run for {name} exited {code}")
    return [max(folder.iterdir()) for folder in folders]


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:.2g}"


def _wall_s(records: list[dict]) -> float:
    starts = [datetime.fromisoformat(r["started_at"]).timestamp() for r in records]
    ends = [start + request_metrics(r)["e2e_s"] for start, r in zip(starts, records)]
    return max(ends) - min(starts)


def table(run_dirs: list[Path]) -> tuple[list[str], int, dict]:
    """Markdown rows over the problems every run finished, their count, and the machine of the last run."""
    runs = []
    for run_dir in run_dirs:
        manifest = read_manifest(run_dir)
        records = [r for r in read_records(run_dir / "records.jsonl") if r["suite"] == "humaneval"]
        runs.append((manifest, records))
    common = set.intersection(*({r["task_id"] for r in records if r["error"] is None} for _, records in runs))
    rows = []
    for manifest, records in runs:
        kept = [r for r in records if r["task_id"] in common]
        (name,) = {r["model"] for r in kept}
        row = summarize(kept, manifest).iloc[0]
        style = manifest["models"][name]["config"].get("prompt_style", "chat")
        low, high = row["accuracy_ci_low"], row["accuracy_ci_high"]
        interval = "–" if low is None else f"{100 * low:.1f}–{100 * high:.1f}%"
        energy = row["energy_j_per_task"]
        rows.append(
            f"| {name} | {style} | {100 * row['accuracy']:.1f}% ({row['n_correct']}/{row['n_scored']}) | {interval} "
            f"| {_money(row['cost_usd_per_correct'] if row['n_correct'] else None)} "
            f"| {'–' if energy is None else f'{energy:.0f} J'} ({row['energy_source']}) "
            f"| {int(row['output_tokens'] or 0):,} | {_wall_s(kept) / 60:.1f} min |")
    return rows, len(common), runs[-1][0].get("host") or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--out", type=Path, help="folder for the runs (default: a temporary one)")
    parser.add_argument("--only", nargs="+", default=list(MODELS), help="models (default: both embedded)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads per model (default: models.yaml's)")
    parser.add_argument("--parallel", action="store_true", help="run the models at the same time")
    parser.add_argument("--runs", nargs="+", type=Path, help="make the table of these run folders; run nothing")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="humaneval-table-") as scratch:
        run_dirs = args.runs or run_models(args.only, models_file(Path(scratch), args.threads),
                                           args.out or Path(scratch) / "results", args.limit, args.parallel)
        rows, n_common, host = table(run_dirs)
    print(f"\nHumanEval, {n_common} of {N_PROBLEMS} problems, greedy; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"{host.get('cpu_model')}, {host.get('cpu_logical_cores')} logical cores"
          + ("" if args.runs else f", load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after")
          + "\n")
    print("| model | prompt | pass@1 (correct/n) | 95% interval | $ per correct task | J per task (source) "
          "| output tokens | wall time |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
