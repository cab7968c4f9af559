"""`parallel: N` on a llama_cpp model: N sequences decoded together in one context, through the real SmolLM2
GGUF, each request's text and token counts its own; and a load profile applied to the in-process model."""

from __future__ import annotations

import asyncio
import json

import pytest

from harness.backends import Prompt
from harness.backends.llama_cpp import LlamaCppBackend, PromptTooLong
from harness.config.model_config import LlamaCppModel
from tests.support.chat_streams import answer, chat
from tests.support.runs import run_cli, write

QUESTIONS = ["What is 6 times 7?", "Name a colour.", "Say hello.", "What is the capital of France?"]


def _backend(path, parallel: int, **extra) -> LlamaCppBackend:
    cfg = LlamaCppModel(name="m", kind="llama_cpp", path=path, n_ctx=1024, parallel=parallel, n_threads=1, **extra)
    backend = LlamaCppBackend(cfg, path)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def one_at_a_time(smollm2_gguf):
    backend = _backend(smollm2_gguf, 1)
    yield {(q, n): answer(list(backend.stream(chat(q, n)))) for q in QUESTIONS for n in (5, 12)}
    backend.close()


def test_concurrent_sequences_give_each_request_the_answer_it_gets_alone(smollm2_gguf, one_at_a_time):
    backend = _backend(smollm2_gguf, 3)  # four requests, three slots: one waits for a free slot
    assert backend.supports_prefix_reuse is False

    async def one(prompt: Prompt) -> list:
        return [item async for block in backend.astream_blocks(prompt) for item in block]

    async def level() -> list:
        prompts = [chat(q, 12 if i % 2 else 5) for i, q in enumerate(QUESTIONS)]
        return await asyncio.gather(*(one(p) for p in prompts))

    try:
        results = asyncio.run(level())
        for i, (question, items) in enumerate(zip(QUESTIONS, results)):
            text, usage = answer(items)
            expected_text, expected_usage = one_at_a_time[(question, 12 if i % 2 else 5)]
            assert text == expected_text
            assert (usage.input_tokens, usage.output_tokens, usage.finish_reason) == \
                (expected_usage.input_tokens, expected_usage.output_tokens, expected_usage.finish_reason)
        # the synchronous path goes through the same engine
        assert answer(list(backend.stream(chat(QUESTIONS[0], 5)))) == one_at_a_time[(QUESTIONS[0], 5)]
    finally:
        backend.close()


def test_stop_string_ends_one_sequence_and_ignore_eos_runs_to_max(smollm2_gguf, one_at_a_time):
    backend = _backend(smollm2_gguf, 2)
    try:
        full, _ = one_at_a_time[(QUESTIONS[0], 12)]
        stop = full.strip().split()[1]  # a word inside the answer
        text, usage = answer(list(backend.stream(chat(QUESTIONS[0], 12, stop=[stop]))))
        assert text == full[:full.index(stop)] and usage.finish_reason == "stop"
        _, usage = answer(list(backend.stream(chat(QUESTIONS[2], 40, ignore_eos=True))))
        assert (usage.output_tokens, usage.finish_reason) == (40, "length")
        # each sequence has n_ctx / parallel cells of context
        with pytest.raises(PromptTooLong, match="over parallel 2"):
            list(backend.stream(chat(QUESTIONS[0], 600)))
    finally:
        backend.close()


def test_profile_sweep_runs_an_in_process_model_level_by_level(tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: par, kind: llama_cpp, path: '{smollm2_gguf}', n_ctx: 1024, parallel: 2, n_threads: 1}}
        """)
    proc = run_cli("run", "--models", str(models), "--workload", "in=40,out=6,n=4", "--profile", "sweep:1,2",
                   "--out", str(tmp_path / "out"), "--no-report", env_columns=220)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert sorted(r["level"] for r in records) == ["concurrent:1"] * 4 + ["concurrent:2"] * 4
    assert all(r["error"] is None and r["output_tokens"] == 6 and r["input_tokens"] == 40 for r in records)
    entry = json.loads((run_dir / "run.json").read_text())["models"]["par"]
    assert entry["load"]["parallel"] == 2
    assert set(entry["levels"]) == {"concurrent:1", "concurrent:2"}
    assert all(level["wall_s"] > 0 and level["energy_window"] and level["loop_lag_ms"]["n"] > 0
               for level in entry["levels"].values())
    assert "concurrent:2" in proc.stdout


def test_capacity_profile_searches_levels_and_the_break_even_says_which(tmp_path, smollm2_gguf, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the API is skipped: its cost is projected
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: par, kind: llama_cpp, path: '{smollm2_gguf}', n_ctx: 1024, parallel: 2, n_threads: 1}}
          - {{name: api, kind: openai, provider: openai, model: gpt-5.4-nano}}
        """)
    proc = run_cli("run", "--models", str(models), "--workload", "in=40,out=6,n=4", "--profile", "capacity:4",
                   "--slo", "e2e_ms=600000", "--out", str(tmp_path / "out"), "--no-report", env_columns=250)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    entry = json.loads((run_dir / "run.json").read_text())["models"]["par"]
    search = entry["capacity_search"]
    # every level meets so loose an SLO: the search doubles up to its bound unless throughput saturates
    assert [row["level"] for row in search["levels"]][:2] == ["concurrent:1", "concurrent:2"]
    assert set(entry["levels"]) == {row["level"] for row in search["levels"]}
    assert search["capacity_level"] in entry["levels"] and search["slos_ms"] == {"e2e_s": 600000.0}
    basis = f"searched: {search['capacity_level']}"
    assert basis in " ".join(proc.stdout.split())  # the break-even matrix and the answer say where it comes from
