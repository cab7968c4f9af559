"""Report build time and file size over 100,000 synthetic records (targets: < 10 s, < 5 MB).

The records look like a real run's: 10 models (8 local, 2 API) x 10,000 tasks of one suite, each with
24 chunk stamps, token counts, an energy window, a cost and a verdict. The suite file is written too, so
the drill-down has prompts.

    .venv/bin/python benchmarks/report_scale.py [--records 100000] [--models 10]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import yaml

from harness.report import build_report
from harness.suites import load_suite_file


def write_run(folder: Path, n_records: int, n_models: int) -> Path:
    rng = random.Random(1)
    n_tasks = n_records // n_models
    suite_path = folder / "big.yaml"
    tasks = [{"id": f"t{i:06d}", "prompt": f"What is {i} + 1? Reply with the number only.", "max_tokens": 16,
              "expected": i + 1, "checker": "numeric"} for i in range(n_tasks)]
    suite_path.write_text(yaml.safe_dump({"name": "big", "version": 1, "tasks": tasks}))
    suite = load_suite_file(suite_path)
    run = folder / "run"
    run.mkdir()
    models = {}
    with (run / "records.jsonl").open("w") as out:
        for m in range(n_models):
            name, local = f"model-{m}", m < n_models - 2
            models[name] = {"kind": "llama_cpp" if local else "openai", "status": "complete",
                            "load": {"runtime": "synthetic", "device": "cpu" if local else "remote"}}
            if local:
                models[name]["local_cost"] = {"electricity_usd_per_kwh": 0.15, "pue": 1.0, "hardware_usd_per_hour": 0.057,
                                              "utilisation": 0.5, "hardware": "synthetic", "basis": {}}
                models[name]["idle"] = {"window_s": 3.0, "readings": [{"device": "cpu", "source": "rapl", "w": 12.0}]}
            skill = 0.3 + 0.06 * m
            for i, task in enumerate(suite.tasks):
                ttft = int(rng.uniform(0.05, 0.4) * 1e9)
                gap = int(rng.uniform(0.01, 0.03) * 1e9)
                offsets = [ttft + k * gap for k in range(24)]
                correct = rng.random() < skill
                record = {
                    "schema": 1, "run_id": "synthetic", "model": name, "suite": "big", "suite_sha256": suite.sha256,
                    "task_id": task.id, "repetition": 0, "started_at": "2026-12-01T00:00:00.000+00:00",
                    "chunk_offsets_ns": offsets, "chunk_chars": [3] * 24, "end_offset_ns": offsets[-1] + gap,
                    "input_tokens": 40, "input_tokens_source": "runtime", "output_tokens": 24,
                    "output_tokens_source": "runtime", "finish_reason": "stop",
                    "output_text": str(i + 1 if correct else i), "error": None, "attempts": 1, "failed_attempts": [],
                    "energy": {"window_s": 0.9, "readings": [{"device": "cpu", "source": "rapl", "j": rng.uniform(5, 15)}]}
                    if local else None,
                    "cost_usd": rng.uniform(1e-5, 4e-5), "expected": i + 1, "checker": "numeric",
                    "verdict": "correct" if correct else "incorrect", "extracted": None, "verdict_detail": None,
                }
                out.write(json.dumps(record) + "\n")
    manifest = {"run_id": "synthetic", "status": "complete", "models": models, "skipped_models": {},
                "host": {"hostname": "bench", "gpus": [], "memory_bandwidth": {"cpu": {"gbs": 20.0}}},
                "suites": [{"name": "big", "version": 1, "sha256": suite.sha256, "source": str(suite_path),
                            "n_tasks": n_tasks}], "command_line": ["synthetic"], "libraries": {}}
    (run / "run.json").write_text(json.dumps(manifest))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = write_run(Path(folder), args.records, args.models)
        out = Path(folder) / "report.html"
        t0 = time.perf_counter()
        paths = build_report([run], out)
        seconds = time.perf_counter() - t0
        print(f"{args.records:,} records, {args.models} models: report built in {seconds:.2f} s "
              f"(target < 10 s); HTML {out.stat().st_size / 1e6:.2f} MB (target < 5 MB)")
        for path in paths[1:]:
            print(f"  export {path.name}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
