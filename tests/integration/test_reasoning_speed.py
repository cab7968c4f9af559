"""Reasoning and hidden tokens against a local server the test controls (a real server cannot be made to count
567 output tokens while streaming 5 chunks): reasoning deltas are recorded apart from the answer, TTFT counts
any streamed token, TTFAT the first answer token, and output speed never divides tokens that were not
streamed by the streamed window."""

from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest

from harness.analysis.model_summary import summarize
from harness.analysis.request_metrics import request_metrics
from harness.backends import Prompt
from harness.backends.anthropic_api import AnthropicBackend
from harness.backends.openai_api import OpenAIBackend
from harness.config.model_config import AnthropicModel, OpenAIModel
from harness.execution.request import timed_stream, timed_stream_async
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import run_cli, write

PROMPT = Prompt(style="chat", max_tokens=16, messages=[{"role": "user", "content": "What is 6 times 7?"}])
NS = 1e9


# Both request paths: the SDK one request at a time, and the load generator's own client.
PATHS = ["one-at-a-time", "load-generator"]


def _openai_record(api: FakeAPI, path: str) -> dict:
    backend = OpenAIBackend(OpenAIModel(name="r", kind="openai", base_url=f"{api.base_url}/v1", model="m"))
    backend.load()
    try:
        if path == "load-generator":
            async def once() -> dict:
                try:
                    return await timed_stream_async(backend, PROMPT)
                finally:
                    await backend.aclose()
            return asyncio.run(once())
        return timed_stream(backend, PROMPT)
    finally:
        backend.close()


def _window_s(offsets: list[int]) -> float:
    return (offsets[-1] - offsets[0]) / NS


@pytest.mark.parametrize("path", PATHS)
def test_567_tokens_in_5_chunks_reports_the_end_to_end_rate_not_a_streaming_speed(tmp_path, path):
    usage = {"prompt_tokens": 20, "completion_tokens": 567, "total_tokens": 587}
    with FakeAPI(usage=usage) as api:
        record = _openai_record(api, path)
    assert record["error"] is None and record["output_text"] == "The answer is 42."
    assert len([n for n in record["chunk_chars"] if n]) == 5 and record["output_tokens"] == 567
    m = request_metrics(record)
    assert m["output_tok_per_s"] is None and m["itl_s"] is None and m["tpot_s"] is None
    assert m["e2e_output_tok_per_s"] == pytest.approx(567 / (record["end_offset_ns"] / NS))
    assert m["ttft_s"] == m["ttfat_s"] == pytest.approx(record["chunk_offsets_ns"][0] / NS)

    # the same server through `harness run`: the summary carries the end-to-end rate, no streaming speed
    with FakeAPI(usage=usage) as api:
        models = write(tmp_path / "models.yaml", f"models:\n  - {{name: r, kind: openai, base_url: '{api.base_url}/v1',"
                                                 " model: m}\n")
        suite = write(tmp_path / "suite.yaml", "name: s\nversion: 1\ntasks:\n"
                      "  - {id: t1, prompt: 'What is 6 times 7?', max_tokens: 16, expected: 42, checker: numeric}\n")
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp_path / "out"),
                       "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    row = summarize(read_records(run_dir / "records.jsonl"), json.loads((run_dir / "run.json").read_text())).iloc[0]
    assert pd.isna(row["output_tok_per_s_p50"]) and row["e2e_output_tok_per_s_p50"] > 567 / 30


@pytest.mark.parametrize("path", PATHS)
def test_hidden_reasoning_tokens_leave_only_the_streamed_ones_in_the_speed(path):
    usage = {"prompt_tokens": 20, "completion_tokens": 567, "total_tokens": 587,
             "completion_tokens_details": {"reasoning_tokens": 562}}
    with FakeAPI(usage=usage, event_gap_s=0.02) as api:
        record = _openai_record(api, path)
    answer = [t for t, n in zip(record["chunk_offsets_ns"], record["chunk_chars"]) if n]
    m = request_metrics(record)
    # 567 - 562 = 5 answer tokens streamed, over the window of the 5 answer chunks
    assert m["output_tok_per_s"] == pytest.approx((5 - 1) / _window_s(answer))
    assert m["output_tok_per_s"] < 1 / 0.02 * 1.01  # chunks 20 ms apart: about 50 tok/s, not millions
    assert m["e2e_output_tok_per_s"] == pytest.approx(567 / (record["end_offset_ns"] / NS))


@pytest.mark.parametrize("path", PATHS)
def test_streamed_reasoning_is_recorded_apart_and_counts_for_ttft_not_ttfat(path):
    usage = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28,
             "completion_tokens_details": {"reasoning_tokens": 3}}
    with FakeAPI(usage=usage, reasoning=["Six", " sevens", " are 42."], event_gap_s=0.02) as api:
        record = _openai_record(api, path)
    assert record["reasoning_text"] == "Six sevens are 42." and record["output_text"] == "The answer is 42."
    assert record["reasoning_chars"] == [3, 7, 8]
    streamed = sorted(record["reasoning_offsets_ns"] + [t for t, n in zip(record["chunk_offsets_ns"],
                                                                          record["chunk_chars"]) if n])
    m = request_metrics(record)
    assert m["ttft_s"] == pytest.approx(record["reasoning_offsets_ns"][0] / NS)
    assert m["ttfat_s"] == pytest.approx(record["chunk_offsets_ns"][0] / NS) and m["ttfat_s"] > m["ttft_s"] + 0.04
    assert m["output_tok_per_s"] == pytest.approx((8 - 1) / _window_s(streamed))


def test_anthropic_thinking_deltas_are_reasoning_chunks(monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_ANTHROPIC_KEY", "sk-ant-test")
    usage = {"input_tokens": 20, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "output_tokens": 9}
    with FakeAPI(usage=usage, reasoning=["Six sevens", " make 42."]) as api:
        backend = AnthropicBackend(AnthropicModel(name="c", kind="anthropic", base_url=api.base_url, model="claude-x",
                                                  api_key_env="HARNESS_TEST_ANTHROPIC_KEY"))
        backend.load()
        try:
            record = timed_stream(backend, PROMPT)
        finally:
            backend.close()
    assert record["error"] is None
    assert record["reasoning_text"] == "Six sevens make 42." and record["output_text"] == "The answer is 42."
    m = request_metrics(record)
    assert m["ttft_s"] == pytest.approx(record["reasoning_offsets_ns"][0] / NS) and m["ttfat_s"] > m["ttft_s"]
