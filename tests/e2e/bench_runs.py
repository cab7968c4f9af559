"""Runs the summary and report layout tests read: one shaped like the default bench (`make bench`: 3 local
models and the 7 API models of the checkout's models.yaml, projected because their keys are absent) over the
first tasks of the smoke suite, and one with 12 models (2 local, 5 answered by a local fake API, one of them with
a failed request, and 5 projected). The local models are the SmolLM2 GGUF through llama.cpp, so a run takes
seconds on an idle machine."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.errors import EXIT_FAILURES_RECORDED
from tests.support.runs import REPO, write

SMOKE_TASKS = 4   # the smoke suite's first tasks: the screen's shape depends on the models, not on the task count
NO_KEY = "HARNESS_NO_SUCH_KEY"   # never set: the API models are skipped and projected, whatever the environment
# Names as long as the default bench's (25 characters at most there); the third stands for the transformers entry.
BENCH_LOCALS = ["smollm2-135m-q4_1", "smollm2-135m-q4_1-seed-7", "smollm2-135m-q4_1-ctx2048-b"]
COST = {"input_usd_per_mtok": 0.4, "output_usd_per_mtok": 1.6, "source": "test", "as_of": datetime.date(2026, 12, 1)}


def default_api_entries() -> list[dict]:
    """The API models of the checkout's models.yaml, with a key variable that is never set."""
    entries = yaml.safe_load((REPO / "models.yaml").read_text())["models"]
    return [{**e, "api_key_env": NO_KEY} for e in entries if e["kind"] in ("openai", "anthropic")]


def bench_models(folder: Path, gguf: Path) -> Path:
    """A models file shaped like the default bench: 3 local models and the 7 default API models."""
    local = [{"name": name, "kind": "llama_cpp", "path": str(gguf), "seed": seed, "n_ctx": 2048 if "ctx" in name
              else 4096} for seed, name in enumerate(BENCH_LOCALS)]
    apis = default_api_entries()
    assert len(apis) == 7, [a["name"] for a in apis]
    return write(folder / "bench-models.yaml", yaml.safe_dump({"models": local + apis}, sort_keys=False))


def twelve_models(folder: Path, gguf: Path, healthy_url: str, flaky_url: str) -> Path:
    """A models file of 12 models: 2 local, 4 through the healthy fake API, 1 through the flaky one (no retry),
    and 5 of the default API models, projected."""
    local = [{"name": "smollm2-135m-instruct-q4_1-via-llama-cpp", "kind": "llama_cpp", "path": str(gguf)},
             {"name": "smollm2-135m-q4_1-second-runtime-settings", "kind": "llama_cpp", "path": str(gguf), "seed": 3}]
    names = ["fake-api-model-alpha", "fake-api-model-beta-with-a-long-name", "fake-api-model-gamma",
             "fake-api-model-delta-extended-context"]
    fake = [{"name": name, "kind": "openai", "base_url": f"{healthy_url}/v1", "model": "m",
             "cost": {**COST, "input_usd_per_mtok": 0.4 * (index + 1)}} for index, name in enumerate(names)]
    fake.append({"name": "fake-api-model-flaky", "kind": "openai", "base_url": f"{flaky_url}/v1", "model": "m",
                 "max_attempts": 1, "cost": COST})
    models = local + fake + default_api_entries()[:5]
    assert len(models) == 12
    return write(folder / "twelve-models.yaml", yaml.safe_dump({"models": models}, sort_keys=False))


def models_in(run_dir: Path) -> list[str]:
    """Every model of a run, measured or skipped, as its manifest names them."""
    import json

    manifest = json.loads((run_dir / "run.json").read_text())
    return [*manifest["models"], *manifest.get("skipped_models", {})]


@pytest.fixture(scope="session")
def bench_run(tmp_path_factory, smollm2_gguf):
    """`harness run --suite smoke --limit 4` over the bench-shaped models in a 120-column pseudo-terminal: the run
    folder, what the terminal showed, the summary CSV and the report."""
    from tests.e2e.test_terminal_summary import in_pty

    tmp = tmp_path_factory.mktemp("bench")
    models = bench_models(tmp, smollm2_gguf)
    code, screen, stderr = in_pty(["run", "--models", str(models), "--suite", "smoke", "--limit", str(SMOKE_TASKS),
                                   "--out", str(tmp / "out"), "--report-dir", str(tmp / "reports"),
                                   "--idle-seconds", "0.2"], 120)
    assert code == 0, stderr
    (run_dir,) = (tmp / "out").iterdir()
    summary = pd.read_csv(tmp / "reports" / f"{run_dir.name}.summary.csv")
    return run_dir, screen, summary, tmp / "reports" / f"{run_dir.name}.html"


@pytest.fixture(scope="session")
def twelve_run(tmp_path_factory, smollm2_gguf):
    """A run of 12 models over the mini suite (one fake API model's first request fails): the run folder and its
    report."""
    from tests.support.fake_api import FakeAPI
    from tests.support.runs import MINI_SUITE, run_cli

    tmp = tmp_path_factory.mktemp("twelve")
    suite = write(tmp / "mini.yaml", MINI_SUITE)
    usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}
    with FakeAPI(usage=usage) as healthy, FakeAPI(usage=usage, script=[{"do": "status", "status": 500}]) as flaky:
        models = twelve_models(tmp, smollm2_gguf, healthy.base_url, flaky.base_url)
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp / "out"),
                       "--report-dir", str(tmp / "reports"))
    assert proc.returncode == EXIT_FAILURES_RECORDED, proc.stderr     # the flaky model's failed request
    (run_dir,) = (tmp / "out").iterdir()
    return run_dir, tmp / "reports" / f"{run_dir.name}.html"
