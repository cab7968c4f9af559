"""`parallel: N` on a transformers model, through the real SmolLM2 weights (the GGUF dequantised by
transformers): requests decoded together each get the text `model.generate(do_sample=False)` gives that prompt
alone — with unequal max_tokens, a stop string ending one row while the others go on, a request joining a batch
that is already decoding — and a load profile run on the in-process model.

The reference is transformers' own `generate` on the backend's loaded model (the conversion itself is checked
against transformers' GGUF loading in test_transformers.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from harness.backends import Prompt
from harness.backends.transformers_backend import TransformersBackend
from harness.config.model_config import TransformersModel
from tests.support.chat_streams import answer, chat
from tests.support.runs import run_cli, write

pytestmark = pytest.mark.model
QUESTIONS = ["What is 6 times 7?", "Name a colour.", "Say hello.", "What is the capital of France?"]


@pytest.fixture(scope="module")
def backend(smollm2_gguf):
    cfg = TransformersModel(name="m", kind="transformers", path=smollm2_gguf, parallel=3, n_threads=2)
    loaded = TransformersBackend(cfg, smollm2_gguf)
    assert loaded.load()["parallel"] == 3
    yield loaded
    loaded.close()


def _reference(backend, prompt: Prompt) -> tuple[str, int, int]:
    """Text, output and input tokens of transformers' own greedy `generate` for this prompt alone."""
    ids = backend._prompt_ids(prompt)
    with torch.inference_mode():
        out = backend._model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=prompt.max_tokens,
                                      do_sample=False, pad_token_id=backend._tokenizer.pad_token_id)
    generated = []
    for token in out[0, ids.shape[1]:].tolist():
        if token in backend._eos:
            break
        generated.append(token)
    return backend._tokenizer.decode(generated, skip_special_tokens=True), len(generated), int(ids.shape[1])


async def _blocks(backend, prompt: Prompt) -> list:
    return [block async for block in backend.astream_blocks(prompt)]


def test_requests_decoded_together_get_the_text_each_gets_alone(backend):
    # four requests, three rows: the fourth waits for a free row; max_tokens differ, so rows leave at different steps
    prompts = [chat(q, 12 if i % 2 else 5) for i, q in enumerate(QUESTIONS)]
    full, _, _ = _reference(backend, chat(QUESTIONS[3], 12))
    stop = full.split()[2]  # a word inside one answer: that row ends there, the others go on
    prompts.append(chat(QUESTIONS[3], 12, stop=[stop]))

    async def level():
        return await asyncio.gather(*(_blocks(backend, p) for p in prompts))

    results = asyncio.run(level())
    for prompt, blocks in zip(prompts[:4], results):
        text, usage = answer([item for block in blocks for item in block])
        expected_text, n_out, n_in = _reference(backend, prompt)
        assert text == expected_text, prompt.messages
        assert (usage.input_tokens, usage.output_tokens) == (n_in, n_out)
        assert usage.finish_reason == ("length" if n_out == prompt.max_tokens else "stop")
        assert all(len(block) == 1 for block in blocks[:-1])  # one block per token, the last one with the usage
        assert len(blocks) - 1 <= n_out <= len(blocks)
    text, usage = answer([item for block in results[4] for item in block])
    assert text == full[:full.index(stop)] and usage.finish_reason == "stop"
    assert usage.output_tokens < 12


def test_a_request_joining_a_batch_already_decoding(backend):
    first, second = chat(QUESTIONS[2], 16, ignore_eos=True), chat(QUESTIONS[0], 8)

    async def joined():
        early: list = []
        stream = backend.astream_blocks(first)
        async for block in stream:
            early.append(block)
            if len(early) == 3:
                break
        late = asyncio.create_task(_blocks(backend, second))  # joins while the first row decodes
        early += [block async for block in stream]
        return early, await late

    first_blocks, second_blocks = asyncio.run(joined())
    text, usage = answer([item for block in first_blocks for item in block])
    assert usage.output_tokens == 16 and usage.finish_reason == "length"  # ignore_eos: held to max_tokens
    ids = backend._prompt_ids(first)
    with torch.inference_mode():
        out = backend._model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, min_new_tokens=16,
                                      do_sample=False, pad_token_id=backend._tokenizer.pad_token_id)
    assert text == backend._tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    text, usage = answer([item for block in second_blocks for item in block])
    assert (text, usage.output_tokens) == _reference(backend, second)[:2]


def test_the_synchronous_stream_goes_through_the_same_engine(backend):
    steps = backend._engine.steps
    text, usage = answer(list(backend.stream(chat(QUESTIONS[1], 6))))
    assert (text, usage.output_tokens, usage.input_tokens) == _reference(backend, chat(QUESTIONS[1], 6))
    assert backend._engine.steps > steps


def test_profile_sweep_on_a_batched_transformers_model(tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: par, kind: transformers, path: '{smollm2_gguf}', parallel: 2, n_threads: 2}}
        """)
    proc = run_cli("run", "--models", str(models), "--workload", "in=40,out=6,n=4", "--profile", "sweep:1,2",
                   "--out", str(tmp_path / "out"), "--no-report", env_columns=220, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert sorted(r["level"] for r in records) == ["concurrent:1"] * 4 + ["concurrent:2"] * 4
    assert all(r["error"] is None and r["output_tokens"] == 6 and r["input_tokens"] == 40 for r in records)
    entry = json.loads((run_dir / "run.json").read_text())["models"]["par"]
    assert entry["load"]["parallel"] == 2 and entry["load"]["runtime"] == "transformers"
    assert set(entry["levels"]) == {"concurrent:1", "concurrent:2"}
